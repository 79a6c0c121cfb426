"""kmrbf vs scikit-learn (lloyd, elkan) vs FAISS: same float32 data, same initial centers,
same iterations, same thread count, one run. Prints time per iteration, iterations, final
inertia (recomputed here in f64 from each one's centers), ratios, GFLOP/s of the assignment
GEMM against the measured sgemm peak, the k-means++ init time, and kmrbf's peak RSS.

Run through bench/run.sh (it makes the venv and sets the BLAS environment).
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
BIN = str(ROOT / "target" / "release" / "kmrbf")
SHAPES = {"thin": (1_000_000, 32, 64), "wide": (200_000, 128, 256)}


def make_data(n, d, k, seed=0):
    """Overlapping Gaussian blobs (so Lloyd does not converge within the timed iterations)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-1, 1, size=(k, d)).astype(np.float32)
    x = centers[rng.integers(0, k, size=n)] + rng.normal(0, 0.6, size=(n, d)).astype(np.float32)
    c0 = x[rng.choice(n, size=k, replace=False)].copy()
    return np.ascontiguousarray(x, dtype=np.float32), c0


def inertia_f64(x, centers, chunk=65536):
    c = centers.astype(np.float64)
    cn = (c * c).sum(1)
    total = 0.0
    for s in range(0, len(x), chunk):
        xb = x[s:s + chunk].astype(np.float64)
        dist = (xb * xb).sum(1)[:, None] - 2 * xb @ c.T + cn[None, :]
        total += np.maximum(dist.min(1), 0).sum()
    return total


def run_kmrbf(xpath, c0path, k, iters, threads, workdir, init="given", binary=BIN):
    out = Path(workdir) / "m.json"
    args = [binary, "--threads", str(threads), "--quiet", "fit", "--data", str(xpath), "--k", str(k),
            "--max-iter", str(iters), "--tol", "0", "--algorithm", "lloyd", "--out", str(out)]
    args += ["--init", str(c0path)] if init == "given" else ["--init", "k-means++", "--seed", "0"]
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + args, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    m = json.loads(out.read_text())
    rss_kb = int(r.stderr.strip().splitlines()[-1])
    return m, wall, rss_kb


def time_sklearn(x, c0, iters, algorithm):
    from sklearn.cluster import KMeans
    def fit(m):
        km = KMeans(n_clusters=len(c0), init=c0, n_init=1, max_iter=m, tol=0.0, algorithm=algorithm)
        t = time.perf_counter()
        km.fit(x)
        return time.perf_counter() - t, km
    t1, _ = fit(1)
    tm, km = fit(iters)
    return (tm - t1) / max(km.n_iter_ - 1, 1), tm, km.n_iter_, km.cluster_centers_


def time_faiss(x, c0, iters):
    import faiss
    def fit(m):
        km = faiss.Kmeans(x.shape[1], len(c0), niter=m, seed=1, verbose=False,
                          max_points_per_centroid=10**9, min_points_per_centroid=1)
        t = time.perf_counter()
        km.train(x, init_centroids=c0)
        return time.perf_counter() - t, km
    t1, _ = fit(1)
    tm, km = fit(iters)
    return (tm - t1) / (iters - 1), tm, iters, km.centroids


def sgemm_peak(threads):
    """OpenBLAS sgemm on 2048^3, median of 5: the machine's practical f32 GEMM peak (157-163
    GFLOP/s on one core here; the thin 100000 x 64 x 256 product used at first reached
    only ~78 and made the percentages overstate)."""
    m = 2048
    a = np.random.default_rng(0).random((m, m), dtype=np.float32)
    b = np.random.default_rng(1).random((m, m), dtype=np.float32)
    with threadpool_limits(limits=threads):
        a @ b
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            a @ b
            ts.append(time.perf_counter() - t)
    return 2 * m ** 3 / np.median(ts) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="thin,wide")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    ap.add_argument("--baseline", help="another kmrbf binary (a previous build), timed the same way right after "
                    "this one in each cell; reported as kmrbf_baseline")
    a = ap.parse_args()
    import faiss  # noqa: F401  (fail early if missing)
    import sklearn
    info = {"python": sys.version.split()[0], "numpy": np.__version__, "sklearn": sklearn.__version__,
            "faiss": faiss.__version__, "blas": [(i.get("internal_api"), i.get("architecture")) for i in threadpool_info()],
            "cpu": platform.processor() or open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": "),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
            "GLIBC_TUNABLES": os.environ.get("GLIBC_TUNABLES")}
    print(json.dumps(info))
    results = {"info": info, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for shape in a.shapes.split(","):
            n, d, k = SHAPES[shape]
            x, c0 = make_data(n, d, k)
            xpath, c0path = Path(tmp) / f"{shape}.npy", Path(tmp) / f"{shape}_c0.npy"
            np.save(xpath, x)
            np.save(c0path, c0)
            flops = 2.0 * n * d * k
            for threads in [int(t) for t in a.threads.split(",")]:
                peak = sgemm_peak(threads)
                row = {"shape": shape, "n": n, "d": d, "k": k, "threads": threads, "sgemm_peak_gflops": peak}
                builds = [("kmrbf", BIN)] + ([("kmrbf_baseline", a.baseline)] if a.baseline else [])
                for name, binary in builds:
                    m1, _, _ = run_kmrbf(xpath, c0path, k, 1, threads, tmp, binary=binary)
                    m, wall, rss = run_kmrbf(xpath, c0path, k, a.iters, threads, tmp, binary=binary)
                    t = m["settings"]["timings"]
                    # Marginal cost of an iteration, as for the peers: (t(M) - t(1)) / (M - 1).
                    s_iter = (t["iter_seconds"] - m1["settings"]["timings"]["iter_seconds"]) / max(m["n_iter"] - 1, 1)
                    row[name] = {"s_per_iter": s_iter, "n_iter": m["n_iter"],
                                 "process_wall_s": wall, "peak_rss_mb": rss / 1024, "input_mb": x.nbytes / 2**20,
                                 "s_per_iter_incl_final_pass": t["iter_seconds"] / m["n_iter"],
                                 "inertia": inertia_f64(x, np.array(m["centers"], dtype=np.float32))}
                with threadpool_limits(limits=threads):
                    for alg in ["lloyd", "elkan"]:
                        s, tot, it, c = time_sklearn(x, c0, a.iters, alg)
                        row[f"sklearn_{alg}"] = {"s_per_iter": s, "n_iter": it, "fit_s": tot, "inertia": inertia_f64(x, c)}
                    if not a.no_faiss:
                        import faiss
                        faiss.omp_set_num_threads(threads)
                        s, tot, it, c = time_faiss(x, c0, a.iters)
                        row["faiss"] = {"s_per_iter": s, "n_iter": it, "fit_s": tot, "inertia": inertia_f64(x, c)}
                # k-means++ init (greedy, same number of local trials), median of three each: single
                # timings of either side moved by +-5% between repeats.
                pp_of = {name: [] for name, _ in builds}
                for _ in range(3):
                    for name, binary in builds:
                        pp_of[name].append(run_kmrbf(xpath, c0path, k, 1, threads, tmp, init="k-means++",
                                                     binary=binary)[0]["settings"]["timings"]["init_seconds"])
                ours_pp = pp_of["kmrbf"]
                from sklearn.cluster import kmeans_plusplus
                sk_pp = []
                with threadpool_limits(limits=threads):
                    for _ in range(3):
                        tt = time.perf_counter()
                        kmeans_plusplus(x, n_clusters=k, random_state=0)
                        sk_pp.append(time.perf_counter() - tt)
                row["kmeanspp"] = {"kmrbf_s": float(np.median(ours_pp)), "sklearn_s": float(np.median(sk_pp)),
                                   "kmrbf_all_s": ours_pp, "sklearn_all_s": sk_pp}
                if a.baseline:
                    row["kmeanspp"]["baseline_s"] = float(np.median(pp_of["kmrbf_baseline"]))
                    row["kmeanspp"]["baseline_all_s"] = pp_of["kmrbf_baseline"]
                results["runs"].append(row)
                print_row(row, flops)
    Path(a.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {a.out}")


def print_row(row, flops):
    print(f"\n## {row['shape']}: {row['n']} x {row['d']}, k = {row['k']}, f32, {row['threads']} thread(s); "
          f"numpy sgemm peak {row['sgemm_peak_gflops']:.0f} GFLOP/s")
    print("| impl | ms / iter | iters | GFLOP/s (assign GEMM) | % of sgemm peak | inertia | kmrbf speedup |")
    print("|---|---|---|---|---|---|---|")
    ours = row["kmrbf"]["s_per_iter"]
    for name in ["kmrbf", "kmrbf_baseline", "sklearn_lloyd", "sklearn_elkan", "faiss"]:
        if name not in row:
            continue
        r = row[name]
        g = flops / r["s_per_iter"] / 1e9
        print(f"| {name} | {r['s_per_iter'] * 1e3:.1f} | {r['n_iter']} | {g:.0f} | {100 * g / row['sgemm_peak_gflops']:.0f}% "
              f"| {r['inertia']:.6e} | {r['s_per_iter'] / ours:.2f}x |")
    pp = row["kmeanspp"]
    print(f"k-means++ init (medians of 3): kmrbf {pp['kmrbf_s']:.3f} s, scikit-learn {pp['sklearn_s']:.3f} s "
          f"({pp['sklearn_s'] / pp['kmrbf_s']:.1f}x)"
          + (f"; baseline {pp['baseline_s']:.3f} s ({pp['baseline_s'] / pp['kmrbf_s']:.2f}x)" if "baseline_s" in pp else ""))
    print(f"kmrbf peak RSS {row['kmrbf']['peak_rss_mb']:.0f} MiB for {row['kmrbf']['input_mb']:.0f} MiB of input")


if __name__ == "__main__":
    main()
