"""kmrbf.dask.RBFKMeans against the in-memory kmrbf.RBFKMeans on the same data: one LocalCluster
(2 worker processes, 1 thread each, 127.0.0.1) against 2 threads in this process; 4,000,000 x 32
float32, k = 64, 8 blocks, the same initial centers, entmax-1.5, three temperatures. Time per
step as the marginal cost (t(cap) - t(1)) / (3 (cap - 1)) of whole fits whose stages each take
`cap` steps (tol = 0), and the largest center difference between the two.

Run through bench/run_dask.sh (after dask_compare.py).
"""
import argparse
import time
import warnings

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4_000_000)
    ap.add_argument("--cap", type=int, default=4)
    a = ap.parse_args()
    warnings.filterwarnings("ignore", message=".*large graph.*")
    n, d, k = a.n, 32, 64
    rng = np.random.default_rng(0)
    centers = rng.uniform(-1, 1, size=(k, d)).astype(np.float32)
    x = centers[rng.integers(0, k, size=n)] + rng.normal(0, 0.6, size=(n, d)).astype(np.float32)
    c0 = x[rng.choice(n, size=k, replace=False)].copy()
    params = dict(map="entmax15", temperature=None, sigma0=0.5, sigma_min=0.12, gamma=0.5,
                  tol=0.0, reference=False)
    import kmrbf
    import kmrbf.dask

    def marginal(make, fit):
        fit(make(1))  # warm-up: imports and the first tasks on the workers
        t = {}
        for cap in (1, a.cap):
            t0 = time.perf_counter()
            m = fit(make(cap))
            t[cap] = time.perf_counter() - t0
        steps = len(m.trace_) * (a.cap - 1)
        return (t[a.cap] - t[1]) / steps, t[a.cap], m

    mem = marginal(lambda cap: kmrbf.RBFKMeans(k, init=c0, stage_cap=cap, n_threads=2, **params),
                   lambda m: m.fit(x))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster):
        X = da.from_array(x, chunks=(n // 8, d)).persist()
        dsk = marginal(lambda cap: kmrbf.dask.RBFKMeans(k, init=c0, stage_cap=cap, **params),
                       lambda m: m.fit(X))
    diff = float(np.abs(dsk[2].cluster_centers_ - mem[2].cluster_centers_).max())
    print(f"{n} x {d} float32, k = {k}, {len(mem[2].trace_)} temperatures x {a.cap} steps")
    print("| | per step | whole fit |")
    print("|---|---|---|")
    print(f"| kmrbf.RBFKMeans (in memory, 2 threads) | {mem[0] * 1e3:.1f} ms | {mem[1]:.2f} s |")
    print(f"| kmrbf.dask.RBFKMeans (2 workers x 1 thread) | {dsk[0] * 1e3:.1f} ms | {dsk[1]:.2f} s |")
    print(f"largest center difference: {diff:.3e} (data scale {np.abs(x).max():.2f})")


if __name__ == "__main__":
    main()
