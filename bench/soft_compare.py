"""One soft-lloyd step (responsibilities + weighted center update) on 1,000,000 x 32, K = 64,
float32: kmrbf (softmax, entmax15) vs PyTorch CPU (torch.softmax, and entmax15 from the
`entmax` package), same data, same centers, same thread count, one run (each side the median
of three). Also checks that kmrbf's entmax15 responsibilities equal the `entmax` package's on a
sample.

Run through bench/run_soft.sh (it makes the venv with torch and entmax)."""
import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from entmax import entmax15

ROOT = Path(__file__).resolve().parents[1]
BIN = str(ROOT / "target" / "release" / "kmrbf")


def torch_step(x, c, temp, kind, chunk=262_144):
    """Chunked soft-lloyd step in PyTorch: R = map(-D / temp), c_new = R^T X / sum R."""
    k, d = c.shape
    num = torch.zeros((k, d), dtype=torch.float64)
    den = torch.zeros(k, dtype=torch.float64)
    cn = (c * c).sum(1)
    for s in range(0, x.shape[0], chunk):
        xb = x[s:s + chunk]
        dist = (xb * xb).sum(1, keepdim=True) - 2 * xb @ c.T + cn
        z = -dist.clamp_min(0) / temp
        r = torch.softmax(z, dim=1) if kind == "softmax" else entmax15(z, dim=1)
        num += (r.T @ xb).double()
        den += r.sum(0).double()
    return (num / den[:, None]).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--baseline", help="another kmrbf binary (a previous build): its soft step timed "
                    "in each pair right after this one's")
    a = ap.parse_args()
    n, d, k = a.n, 32, 64
    rng = np.random.default_rng(0)
    centers = rng.uniform(-1, 1, size=(k, d)).astype(np.float32)
    x = centers[rng.integers(0, k, size=n)] + rng.normal(0, 0.6, size=(n, d)).astype(np.float32)
    c0 = x[rng.choice(n, size=k, replace=False)].copy()
    temp = 2.0  # soft: most rows have several nonzero responsibilities at this temperature
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "x.npy", x)
        np.save(tmp / "c0.npy", c0)
        # Correctness against the entmax package on a sample.
        xs = x[:2000].astype(np.float64)  # compare in f64: kmrbf runs in the file's precision
        np.save(tmp / "xs.npy", xs)
        (tmp / "m.json").write_text(json.dumps({"format": "kmrbf-model", "version": "", "k": k, "d": d, "dtype": "f32",
                                                "centers": c0.astype(float).tolist(), "inertia": 0, "n_iter": 0, "settings": {}}))
        subprocess.run([BIN, "transform", "--model", str(tmp / "m.json"), "--data", str(tmp / "xs.npy"), "--map", "entmax15",
                        "--sigma", str(temp), "--out", str(tmp / "r.npy")], check=True)
        ours = np.load(tmp / "r.npy").astype(np.float64)
        xd, cd = torch.from_numpy(xs.astype(np.float64)), torch.from_numpy(c0.astype(np.float64))
        dist = (xd * xd).sum(1, keepdim=True) - 2 * xd @ cd.T + (cd * cd).sum(1)
        theirs = entmax15(-dist.clamp_min(0) / temp, dim=1).numpy()
        print(f"entmax15 vs entmax package (2000 rows, f64): max abs diff {np.abs(ours - theirs).max():.2e}")
        for threads in [int(t) for t in a.threads.split(",")]:
            torch.set_num_threads(threads)
            xt, ct = torch.from_numpy(x), torch.from_numpy(c0)
            for kind in ["softmax", "entmax15"]:
                torch_step(xt[:100_000], ct, temp, kind)
                ts = []
                for _ in range(3):
                    t = time.perf_counter()
                    torch_step(xt, ct, temp, kind)
                    ts.append(time.perf_counter() - t)
                t_torch = float(np.median(ts))
                out = tmp / "a.json"

                def ours_step(binary=BIN):
                    subprocess.run([binary, "--threads", str(threads), "--quiet", "anneal", "--data", str(tmp / "x.npy"),
                                    "--k", str(k), "--init", str(tmp / "c0.npy"), "--map", kind, "--sigmas", str(temp),
                                    "--stage-cap", "5", "--tol", "0", "--out", str(out)], check=True)
                    st = json.loads(out.read_text())["settings"]["stages"][0]
                    return st, st["seconds"] / st["steps"]

                fit = tmp / "f.json"

                def hard_seconds(iters):
                    subprocess.run([BIN, "--threads", str(threads), "--quiet", "fit", "--data", str(tmp / "x.npy"),
                                    "--k", str(k), "--init", str(tmp / "c0.npy"), "--algorithm", "lloyd",
                                    "--max-iter", str(iters), "--tol", "0", "--out", str(fit)], check=True)
                    return json.loads(fit.read_text())["settings"]["timings"]["iter_seconds"]

                # Five pairs, each a run of 5 soft steps (seconds per step) right next to the
                # marginal cost of one hard iteration, (t(6) - t(1)) / 5 as in compare.py: the
                # ratio of each pair sees the same machine state; medians over the pairs.
                pairs = []
                base = []
                for _ in range(5):
                    st, t_soft = ours_step()
                    pairs.append((t_soft, (hard_seconds(6) - hard_seconds(1)) / 5))
                    if a.baseline:
                        base.append(ours_step(a.baseline)[1] / t_soft)
                t_ours = float(np.median([p[0] for p in pairs]))
                t_hard = float(np.median([p[1] for p in pairs]))
                ratios = sorted(p[0] / p[1] for p in pairs)
                print(f"{threads} thread(s) {kind:9}: kmrbf {t_ours * 1e3:7.1f} ms/step "
                      f"(mean support {st['mean_support']:.2f}), hard Lloyd {t_hard * 1e3:6.1f} ms/iter "
                      f"-> soft/hard {float(np.median(ratios)):4.2f}x (pairs {ratios[0]:.2f}-{ratios[-1]:.2f}); "
                      f"PyTorch {t_torch * 1e3:8.1f} ms/step -> kmrbf {t_torch / t_ours:5.1f}x faster")
                if base:
                    base.sort()
                    print(f"    baseline / this build, soft step: median {float(np.median(base)):.3f} "
                          f"(pairs {base[0]:.3f}-{base[-1]:.3f})")


if __name__ == "__main__":
    main()
