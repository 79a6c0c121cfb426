"""The Python package against the CLI and the peers, one run, same data and initial centers.

On 1,000,000 x 32 float32, k = 64 (compare.py's "thin" shape): time per Lloyd iteration of
kmrbf.KMeans.fit (marginal: (t(m) - t(1)) / (m - 1) of wall time around fit), of the CLI (the
same marginal of its own iteration timer), of scikit-learn and of FAISS; the peak memory a fit
adds above the input (a child process, copy_x False and True); and one soft-lloyd step of
RBFKMeans against the CLI's `anneal --sigmas` (the library's stage timer on both sides).

Run through bench/run_python.sh (it builds the wheel into the bench venv).
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import BIN, make_data, time_faiss, time_sklearn  # noqa: E402

import kmrbf  # noqa: E402

CHILD = """
import sys, numpy as np, kmrbf
x = np.load(sys.argv[1]); c0 = np.load(sys.argv[2])
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
before = status("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to the current RSS
kmrbf.KMeans(len(c0), init=c0, n_init=1, max_iter=5, tol=0.0, copy_x=sys.argv[3] == "copy").fit(x)
print(before, status("VmHWM:"))
"""


def py_marginal(x, c0, iters, threads):
    def fit(m):
        km = kmrbf.KMeans(len(c0), init=c0, n_init=1, max_iter=m, tol=0.0, algorithm="lloyd",
                          n_threads=threads, copy_x=False)
        t = time.perf_counter()
        km.fit(x)
        return time.perf_counter() - t, km
    t1, _ = fit(1)
    tm, km = fit(iters)
    return (tm - t1) / (km.n_iter_ - 1), km


def cli_iter_seconds(xp, cp, k, iters, threads, out):
    subprocess.run([BIN, "--threads", str(threads), "--quiet", "fit", "--data", str(xp), "--k", str(k),
                    "--init", str(cp), "--algorithm", "lloyd", "--max-iter", str(iters), "--tol", "0",
                    "--out", str(out)], check=True)
    return json.loads(Path(out).read_text())["settings"]["timings"]["iter_seconds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--no-faiss", action="store_true")
    a = ap.parse_args()
    n, d, k = 1_000_000, 32, 64
    x, c0 = make_data(n, d, k)
    print(f"data {n} x {d} float32 ({x.nbytes / 2**20:.0f} MiB), k = {k}, {a.iters} iterations")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "x.npy", x)
        np.save(tmp / "c0.npy", c0)
        for threads in [int(t) for t in a.threads.split(",")]:
            with threadpool_limits(threads):
                rows = []
                for _ in range(3):  # interleaved repeats: each ratio sees the same machine state
                    t_py, km = py_marginal(x, c0, a.iters, threads)
                    cli = (cli_iter_seconds(tmp / "x.npy", tmp / "c0.npy", k, a.iters, threads, tmp / "m.json")
                           - cli_iter_seconds(tmp / "x.npy", tmp / "c0.npy", k, 1, threads, tmp / "m.json")) / (a.iters - 1)
                    rows.append((t_py, cli))
                t_py = float(np.median([r[0] for r in rows]))
                t_cli = float(np.median([r[1] for r in rows]))
                t_sk, _, _, _ = time_sklearn(x, c0, a.iters, "lloyd")
                t_fa = None if a.no_faiss else time_faiss(x, c0, a.iters)[0]
            line = (f"{threads} thread(s): kmrbf.KMeans {t_py * 1e3:6.1f} ms/iter, CLI {t_cli * 1e3:6.1f} "
                    f"(python/CLI {t_py / t_cli:5.3f}), scikit-learn {t_sk * 1e3:6.1f} "
                    f"(x{t_sk / t_py:4.2f} python, x{t_sk / t_cli:4.2f} CLI)")
            if t_fa is not None:
                line += f", FAISS {t_fa * 1e3:6.1f} (x{t_fa / t_py:4.2f} python, x{t_fa / t_cli:4.2f} CLI)"
            print(line, flush=True)
            # Soft-lloyd steps at a soft temperature: library stage timer on both sides.
            for map in ("softmax", "entmax15"):
                pairs = []
                for _ in range(3):
                    m = kmrbf.RBFKMeans(k, map=map, temperature=2.0, stage_cap=5, tol=0.0, reference=False,
                                        init=c0, n_threads=threads, copy_x=False).fit(x)
                    s = m.trace_[0]
                    out = tmp / "a.json"
                    subprocess.run([BIN, "--threads", str(threads), "--quiet", "anneal", "--data", str(tmp / "x.npy"),
                                    "--k", str(k), "--init", str(tmp / "c0.npy"), "--map", map, "--sigmas", "2",
                                    "--stage-cap", "5", "--tol", "0", "--out", str(out)], check=True)
                    c = json.loads(out.read_text())["settings"]["stages"][0]
                    pairs.append((s["seconds"] / s["steps"], c["seconds"] / c["steps"]))
                tp = float(np.median([p[0] for p in pairs]))
                tc = float(np.median([p[1] for p in pairs]))
                print(f"   soft step {map:9}: RBFKMeans {tp * 1e3:6.1f} ms, CLI {tc * 1e3:6.1f} ms "
                      f"(python/CLI {tp / tc:5.3f})", flush=True)
        for mode in ("inplace", "copy"):
            r = subprocess.run([sys.executable, "-c", CHILD, str(tmp / "x.npy"), str(tmp / "c0.npy"), mode],
                               capture_output=True, text=True, check=True)
            before, peak = (int(v) for v in r.stdout.split())
            print(f"peak memory added by fit (copy_x={mode == 'copy'}): {(peak - before) / 1024:.1f} MiB "
                  f"= {100 * (peak - before) * 1024 / x.nbytes:.1f}% of the input")


if __name__ == "__main__":
    main()
