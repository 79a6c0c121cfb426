"""The shape grid: kmrbf vs scikit-learn (lloyd, elkan) vs FAISS on every combination of
dimension d and cluster count k, one and two threads, float32 and float64, in one run.

Each cell has its own data (overlapping Gaussian blobs, so Lloyd does not converge within the
timed iterations) and initial centers (k distinct rows), shared by every implementation. The
time of an iteration is the marginal cost (t(M) - t(1)) / (M - 1), as in compare.py, so
loading, validation and the final pass drop out. n is chosen so one kmrbf iteration takes
about --target seconds at the machine's measured GEMM peak (counting d
as at least 16) (at least 4 k rows, at most
--max-mb of data). GFLOP/s count the assignment GEMM (2 n d k per iteration) and are
compared with numpy's sgemm / dgemm on 2048^3 with the same thread count. FAISS has no
float64 k-means; scikit-learn's elkan is skipped where its n x k bounds would pass --elkan-mb.

Run through bench/run_grid.sh. Writes JSON (--out) and a markdown table (--md).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
BIN = str(ROOT / "target" / "release" / "kmrbf")
OURS = ("kmrbf_lloyd", "kmrbf_auto", "kmrbf_hamerly", "kmrbf_yinyang", "baseline")


def gemm_peak(dtype, threads, m=2048):
    """Median of 5 numpy (OpenBLAS) products of m x m matrices: the practical GEMM peak."""
    rng = np.random.default_rng(0)
    a = rng.random((m, m)).astype(dtype)
    b = rng.random((m, m)).astype(dtype)
    with threadpool_limits(limits=threads):
        a @ b
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            a @ b
            ts.append(time.perf_counter() - t)
    return 2 * m ** 3 / np.median(ts) / 1e9


def make_data(n, d, k, dtype, seed=0):
    """Blobs around k centers uniform in [-1, 1]^d with noise 1.5 (in high dimension noise 0.6
    separates them and Lloyd converges before the timed iterations end)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-1, 1, size=(k, d)).astype(np.float32)
    x = np.empty((n, d), dtype=np.float32)
    step = max(1, (1 << 24) // d)
    for s in range(0, n, step):
        e = min(n, s + step)
        x[s:e] = centers[rng.integers(0, k, size=e - s)]
        x[s:e] += rng.normal(0, 1.5, size=(e - s, d)).astype(np.float32)
    c0 = x[rng.choice(n, size=k, replace=False)].copy()
    return np.ascontiguousarray(x, dtype=dtype), np.ascontiguousarray(c0, dtype=dtype)


def run_kmrbf(xpath, c0path, k, iters, threads, workdir, algorithm, binary=BIN):
    out = Path(workdir) / "m.json"
    args = [binary, "--threads", str(threads), "--quiet", "fit", "--data", str(xpath), "--k", str(k),
            "--max-iter", str(iters), "--tol", "0", "--algorithm", algorithm, "--init", str(c0path),
            "--out", str(out)]
    subprocess.run(args, capture_output=True, text=True, check=True)
    m = json.loads(out.read_text())
    return m["settings"]["timings"]["iter_seconds"], m["n_iter"], np.array(m["centers"])


def time_kmrbf(xpath, c0path, k, iters, threads, workdir, algorithm, binary=BIN):
    # The faster of two runs each: single runs of a few tens of ms moved by 2x.
    t1 = min(run_kmrbf(xpath, c0path, k, 1, threads, workdir, algorithm, binary)[0] for _ in range(2))
    runs = [run_kmrbf(xpath, c0path, k, iters, threads, workdir, algorithm, binary) for _ in range(2)]
    tm, it, c = min(runs, key=lambda r: r[0])
    return (tm - t1) / max(it - 1, 1), it, c, tm


def time_sklearn(x, c0, iters, algorithm):
    from sklearn.cluster import KMeans

    def fit(m):
        km = KMeans(n_clusters=len(c0), init=c0, n_init=1, max_iter=m, tol=0.0, algorithm=algorithm)
        t = time.perf_counter()
        km.fit(x)
        return time.perf_counter() - t, km

    # The faster of two one-iteration fits: a first call pays for thread pools and page faults.
    t1 = min(fit(1)[0], fit(1)[0])
    tm, km = fit(iters)
    return (tm - t1) / max(km.n_iter_ - 1, 1), km.n_iter_, km.cluster_centers_, tm


def time_faiss(x, c0, iters):
    import faiss

    def fit(m):
        km = faiss.Kmeans(x.shape[1], len(c0), niter=m, seed=1, verbose=False,
                          max_points_per_centroid=10**9, min_points_per_centroid=1)
        t = time.perf_counter()
        km.train(x, init_centroids=c0)
        return time.perf_counter() - t, km

    t1 = min(fit(1)[0], fit(1)[0])
    tm, km = fit(iters)
    return (tm - t1) / (iters - 1), iters, km.centroids, tm


def inertia(x, centers, chunk=1 << 15):
    c = np.asarray(centers, dtype=np.float64)
    cn = (c * c).sum(1)
    total = 0.0
    for s in range(0, len(x), chunk):
        xb = x[s:s + chunk].astype(np.float64)
        dist = (xb * xb).sum(1)[:, None] - 2 * xb @ c.T + cn[None, :]
        total += np.maximum(dist.min(1), 0).sum()
    return total


def choose_n(d, k, peak, target, max_mb, itemsize):
    # Below d = 16 an iteration costs more than its flops (the comparisons per distance do not
    # shrink with d), and the peers more so: size such cells as d = 16.
    n = int(target * peak * 1e9 / (2 * max(d, 16) * k))
    n = min(n, max_mb * 2**20 // (d * itemsize))
    return max(n, 4 * k, 20_000)


def cell(d, k, dtype, threads_list, peaks, a, tmp):
    name = np.dtype(dtype).name
    itemsize = np.dtype(dtype).itemsize
    n = choose_n(d, k, peaks[(name, 1)], a.target, a.max_mb, itemsize)
    x, c0 = make_data(n, d, k, dtype)
    xpath, c0path = Path(tmp) / "x.npy", Path(tmp) / "c0.npy"
    np.save(xpath, x)
    np.save(c0path, c0)
    os.sync()  # no write-back of the new file during the first timed run
    rows = []
    for threads in threads_list:
        r = {"d": d, "k": k, "n": n, "dtype": name, "threads": threads, "peak_gflops": peaks[(name, threads)]}
        impls = {}
        for alg in a.algorithms.split(","):
            s, it, c, tm = time_kmrbf(xpath, c0path, k, a.iters, threads, tmp, alg)
            impls[f"kmrbf_{alg}"] = {"s_per_iter": s, "n_iter": it, "inertia": inertia(x, c), "fit_s": tm}
        if a.baseline:
            s, it, c, tm = time_kmrbf(xpath, c0path, k, a.iters, threads, tmp, "lloyd", a.baseline)
            impls["baseline"] = {"s_per_iter": s, "n_iter": it, "inertia": inertia(x, c), "fit_s": tm}
        with threadpool_limits(limits=threads):
            s, it, c, tm = time_sklearn(x, c0, a.iters, "lloyd")
            impls["sklearn_lloyd"] = {"s_per_iter": s, "n_iter": it, "inertia": inertia(x, c), "fit_s": tm}
            if n * k * itemsize <= a.elkan_mb * 2**20 and not a.no_elkan:
                s, it, c, tm = time_sklearn(x, c0, a.iters, "elkan")
                impls["sklearn_elkan"] = {"s_per_iter": s, "n_iter": it, "inertia": inertia(x, c), "fit_s": tm}
            if name == "float32" and not a.no_faiss:
                import faiss
                faiss.omp_set_num_threads(threads)
                s, it, c, tm = time_faiss(x, c0, a.iters)
                impls["faiss"] = {"s_per_iter": s, "n_iter": it, "inertia": inertia(x, c), "fit_s": tm}
        r["impls"] = impls
        ours = min(v["s_per_iter"] for key, v in impls.items() if key.startswith("kmrbf"))
        peer = min(v["s_per_iter"] for key, v in impls.items() if key not in OURS)
        # A run that converged before the last timed iteration has no marginal cost to compare.
        r["short"] = sorted(key for key, v in impls.items() if v["n_iter"] < a.iters)
        r["ratio"] = peer / ours
        # The whole fit of --iters iterations (first pass and final labels included): bounded
        # algorithms pay up front (scikit-learn's elkan computes every distance with scalar
        # code twice before its cheap iterations), which the marginal cost leaves out.
        r["fit_ratio"] = (min(v["fit_s"] for key, v in impls.items() if key not in OURS)
                          / min(v["fit_s"] for key, v in impls.items() if key.startswith("kmrbf")))
        r["gflops"] = 2.0 * n * d * k / ours / 1e9
        r["pct_peak"] = 100 * r["gflops"] / r["peak_gflops"]
        rows.append(r)
        best_peer = min((v["s_per_iter"], key) for key, v in impls.items() if key not in OURS)[1]
        print(f"d={d:5d} k={k:5d} n={n:9d} {name} t={threads}: "
              + " ".join(f"{key} {v['s_per_iter'] * 1e3:.1f}ms" for key, v in impls.items())
              + f" | vs {best_peer}: {r['ratio']:.2f}x, {r['gflops']:.0f} GFLOP/s = {r['pct_peak']:.0f}% of peak"
              + f" | whole fits: " + " ".join(f"{key} {v['fit_s']:.2f}s" for key, v in impls.items())
              + f" ({r['fit_ratio']:.2f}x)"
              + (f" | converged early: {r['short']}" if r["short"] else ""), flush=True)
    return rows


def markdown(results):
    out = []
    info = results["info"]
    out.append(f"CPU: {info['cpu']}; numpy {info['numpy']}, scikit-learn {info['sklearn']}, "
               f"FAISS {info['faiss']}, BLAS {info['blas']}; {info['date']}.")
    groups = {}
    for r in results["runs"]:
        groups.setdefault((r["dtype"], r["threads"]), []).append(r)
    for (dtype, threads), rs in groups.items():
        ds = sorted({r["d"] for r in rs})
        ks = sorted({r["k"] for r in rs})
        lo, hi = min(r["peak_gflops"] for r in rs), max(r["peak_gflops"] for r in rs)
        peak = f"{lo:.0f}" if round(lo) == round(hi) else f"{lo:.0f}-{hi:.0f}"
        out.append("")
        out.append(f"{dtype}, {threads} thread(s): kmrbf ms / iteration, its speedup over the faster "
                   f"peer, and % of the GEMM peak measured beside it ({peak} GFLOP/s); then the "
                   f"speedup of the whole fit of the timed iterations (first pass and final labels "
                   f"included) over the faster peer's")
        out.append("")
        out.append("| d \\ k | " + " | ".join(str(k) for k in ks) + " |")
        out.append("|---|" + "---|" * len(ks))
        for d in ds:
            cells = []
            for k in ks:
                m = [r for r in rs if r["d"] == d and r["k"] == k]
                if not m:
                    cells.append("")
                    continue
                r = m[0]
                ours = min(v["s_per_iter"] for key, v in r["impls"].items() if key.startswith("kmrbf"))
                mark = "" if r["ratio"] >= 1 else "**"
                short = " (converged early)" if r.get("short") else ""
                fit = r.get("fit_ratio")
                whole = "" if fit is None else f"; fit {'**' if fit < 1 else ''}{fit:.2f}x{'**' if fit < 1 else ''}"
                cells.append(f"{ours * 1e3:.1f} ms, {mark}{r['ratio']:.2f}x{mark}, {r['pct_peak']:.0f}%{short}{whole}")
            out.append(f"| {d} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", default="2,16,64,256,768,1536")
    ap.add_argument("--k", default="16,256,1024,4096")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--iters", type=int, default=4)
    ap.add_argument("--target", type=float, default=0.25, help="seconds per kmrbf iteration at GEMM peak")
    ap.add_argument("--max-mb", type=int, default=512, help="largest data array")
    ap.add_argument("--elkan-mb", type=int, default=1024, help="largest n x k bounds array for elkan")
    ap.add_argument("--algorithms", default="lloyd", help="kmrbf --algorithm values, comma-separated")
    ap.add_argument("--baseline", help="another kmrbf binary (a previous build) timed beside")
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--no-elkan", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "grid.json"))
    ap.add_argument("--md", default=str(ROOT / "bench" / "grid.md"))
    a = ap.parse_args()
    import faiss
    import sklearn
    cpu = platform.processor() or open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(" \t:")
    info = {"python": sys.version.split()[0], "numpy": np.__version__, "sklearn": sklearn.__version__,
            "faiss": faiss.__version__, "cpu": cpu, "date": time.strftime("%Y-%m-%d"),
            "blas": sorted({f"{i.get('internal_api')} {i.get('architecture')}" for i in threadpool_info()}),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    print(json.dumps(info), flush=True)
    threads_list = [int(t) for t in a.threads.split(",")]
    dtypes = a.dtypes.split(",")
    peaks = {}
    for dt in dtypes:
        for t in sorted(set(threads_list) | {1}):
            peaks[(dt, t)] = gemm_peak(np.dtype(dt), t)
            print(f"{dt} GEMM peak, {t} thread(s): {peaks[(dt, t)]:.0f} GFLOP/s", flush=True)
    results = {"info": info, "peaks": {f"{k[0]}/{k[1]}": v for k, v in peaks.items()}, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for dt in dtypes:
            for d in [int(v) for v in a.d.split(",")]:
                for k in [int(v) for v in a.k.split(",")]:
                    results["runs"] += cell(d, k, np.dtype(dt), threads_list, peaks, a, tmp)
                    Path(a.out).write_text(json.dumps(results, indent=2))
    md = markdown(results)
    Path(a.md).write_text(md)
    print(md)
    print(f"wrote {a.out} and {a.md}")


if __name__ == "__main__":
    main()
