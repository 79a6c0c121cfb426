"""kmrbf.MiniBatchKMeans against scikit-learn's MiniBatchKMeans: time per batch, same data, same
initial centers (k-means++ on a sample), same batch size and thread count; one run, min of two
per point.

partial_fit: the same 100 batches fed to both, time per call (labels_ and inertia_ of the batch
included on both sides, as scikit-learn's default compute_labels=True does).

The fit's time per batch is the marginal cost (t(max_iter = 3) - t(max_iter = 1)) / (batches between),
with early stopping off, so initialization and the final labeling cancel. Both draw their own
batches (with replacement) and apply scikit-learn's update; the final inertia of the longer fit
is printed beside so a fast side cannot be a wrong one.

Run through bench/run_minibatch.sh (it installs the package into bench/.venv).
"""
import argparse
import time

import numpy as np
from sklearn.cluster import MiniBatchKMeans as SkMiniBatchKMeans
from sklearn.cluster import kmeans_plusplus
from threadpoolctl import threadpool_limits

from kmrbf import MiniBatchKMeans


def blobs(n, d, k, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.uniform(-10, 10, (k, d))
    return (c[rng.integers(0, k, n)] + rng.standard_normal((n, d))).astype(np.float32)


def fit_time(make, X, max_iter):
    best, model = np.inf, None
    for _ in range(2):
        m = make(max_iter)
        t = time.perf_counter()
        m.fit(X)
        best = min(best, time.perf_counter() - t)
        model = m
    return best, model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400_000)
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    shapes = [(32, 64, 1024), (32, 64, 4096), (128, 256, 4096)]
    print(f"{a.n} rows, float32; marginal time per batch (min of two fits per point)")
    print("| threads | d | k | batch | fit: kmrbf ms/batch | scikit-learn | speedup "
          "| partial_fit: kmrbf ms/call | scikit-learn | speedup | inertia kmrbf / sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for threads in [int(t) for t in a.threads.split(",")]:
        for d, k, batch in shapes:
            X = blobs(a.n, d, k)
            # A good common start (k-means++ on a sample), so both end near the same optimum.
            init = kmeans_plusplus(X[:50_000], k, random_state=0)[0]
            steps = {m: m * a.n // batch for m in (1, 3)}
            common = dict(init=init, n_init=1, batch_size=batch, max_no_improvement=None, tol=0.0, random_state=0)
            ours = lambda m: MiniBatchKMeans(k, max_iter=m, n_threads=threads, **common)
            theirs = lambda m: SkMiniBatchKMeans(k, max_iter=m, compute_labels=True, **common)
            o1, _ = fit_time(ours, X, 1)
            o3, om = fit_time(ours, X, 3)
            with threadpool_limits(limits=threads):
                s1, _ = fit_time(theirs, X, 1)
                s3, sm = fit_time(theirs, X, 3)
            per = lambda t1, t3: (t3 - t1) / (steps[3] - steps[1]) * 1e3
            po, ps = per(o1, o3), per(s1, s3)
            # partial_fit: the same 100 batches fed to both, per call.
            rng = np.random.default_rng(2)
            batches = [X[rng.integers(0, a.n, batch)] for _ in range(100)]
            pf = {}
            for name, make in (("kmrbf", lambda: MiniBatchKMeans(k, init=init, n_threads=threads, random_state=0)),
                               ("sklearn", lambda: SkMiniBatchKMeans(k, init=init, n_init=1, random_state=0))):
                with threadpool_limits(limits=threads):
                    m = make().partial_fit(batches[0])
                    t = time.perf_counter()
                    for b in batches[1:]:
                        m.partial_fit(b)
                    pf[name] = (time.perf_counter() - t) / (len(batches) - 1) * 1e3
            print(f"| {threads} | {d} | {k} | {batch} | {po:.3f} | {ps:.3f} | {ps / po:.1f}x | "
                  f"{pf['kmrbf']:.3f} | {pf['sklearn']:.3f} | {pf['sklearn'] / pf['kmrbf']:.1f}x | "
                  f"{om.inertia_ / sm.inertia_:.4f} |", flush=True)


if __name__ == "__main__":
    main()
