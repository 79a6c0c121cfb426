"""kmrbf.dask.KMeans against dask-ml's KMeans on one LocalCluster (2 worker processes, 1 thread
each, 127.0.0.1): 4,000,000 x 32 float32, k = 64, 8 blocks, the same data and initial centers.
Time per Lloyd iteration as the marginal cost (t(m) - t(1)) / (m - 1) of whole fits, and each
one's own initialisation (kmrbf: k-means++ on a 100,000-row sample; dask-ml: k-means||) with
the number of distinct clusters it found.

Run through bench/run_dask.sh.
"""
import argparse
import time

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4_000_000)
    ap.add_argument("--iters", type=int, default=4)
    a = ap.parse_args()
    n, d, k = a.n, 32, 64
    rng = np.random.default_rng(0)
    centers = rng.uniform(-1, 1, size=(k, d)).astype(np.float32)
    x = centers[rng.integers(0, k, size=n)] + rng.normal(0, 0.6, size=(n, d)).astype(np.float32)
    c0 = x[rng.choice(n, size=k, replace=False)].copy()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster):
        X = da.from_array(x, chunks=(n // 8, d)).persist()
        import dask_ml.cluster
        import kmrbf.dask

        def timed(make):
            t = time.perf_counter()
            m = make().fit(X)
            return time.perf_counter() - t, m

        rows = {}
        for name, make in (
            ("kmrbf.dask", lambda m: kmrbf.dask.KMeans(k, init=c0, max_iter=m, tol=0.0)),
            ("dask-ml", lambda m: dask_ml.cluster.KMeans(k, init=c0, max_iter=m, tol=0.0, n_init=1)),
        ):
            timed(lambda: make(1))  # warm-up: imports and the first tasks on the workers
            t1, _ = timed(lambda: make(1))
            tm, m = timed(lambda: make(a.iters))
            rows[name] = (tm - t1) / (a.iters - 1)
            print(f"{name:10}: {rows[name]:.3f} s per Lloyd iteration ({m.n_iter_} iterations)", flush=True)
        print(f"per iteration: kmrbf.dask {rows['dask-ml'] / rows['kmrbf.dask']:.1f}x faster", flush=True)
        t, m = timed(lambda: kmrbf.dask.KMeans(k, random_state=0, max_iter=3))
        found = len(np.unique(m.labels_.compute()))
        print(f"kmrbf.dask k-means++ (100k sample) + 3 iterations: {t:.1f} s, {found} of {k} clusters", flush=True)
        t, m = timed(lambda: dask_ml.cluster.KMeans(k, random_state=0, max_iter=3))
        found = len(np.unique(np.asarray(m.labels_)))
        print(f"dask-ml k-means|| + 3 iterations:                {t:.1f} s, {found} of {k} clusters", flush=True)


if __name__ == "__main__":
    main()
