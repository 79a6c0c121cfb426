"""The annealed mini-batch RBF model against the K-Means it lands on: final distortion J and wall
time of whole fits, from the same k-means++ start, several seeds.

Per seed and dataset: kmrbf.KMeans (Lloyd, n_init=1), kmrbf.MiniBatchKMeans and scikit-learn's
(batches of 1024, scikit-learn's defaults otherwise), kmrbf.MiniBatchRBFKMeans (entmax15 and
softmax, the default median start, a mini-batch polish), and on the smaller dataset the
full-batch kmrbf.RBFKMeans from the same median start (entmax15, Lloyd polish). J is over all
rows; the table gives it relative to Lloyd's from the same start and the mean over seeds.

Run through bench/run_minibatch.sh (it installs the package into bench/.venv).
"""
import argparse
import time

import numpy as np
from sklearn.cluster import MiniBatchKMeans as SkMiniBatchKMeans
from threadpoolctl import threadpool_limits

from kmrbf import KMeans, MiniBatchKMeans, MiniBatchRBFKMeans, RBFKMeans


def overlapping_blobs(n, d, k, spread, seed):
    """k Gaussian blobs of unit variance whose centers are N(0, spread^2): neighbours overlap."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((k, d)) * spread
    return (c[rng.integers(0, k, n)] + rng.standard_normal((n, d))).astype(np.float32)


def timed(make, X):
    t = time.perf_counter()
    m = make().fit(X)
    return time.perf_counter() - t, m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--full-anneal", action="store_true", help="also the full-batch annealing (slow)")
    a = ap.parse_args()
    datasets = [("300k x 16, k = 64", (300_000, 16, 64, 2.2)), ("200k x 128, k = 256", (200_000, 128, 256, 0.45))]
    print(f"float32, {a.threads} threads; J relative to Lloyd's from the same start (mean over {a.seeds} seeds), "
          "wall time of the whole fit (mean)")
    print("| data | method | J / J(Lloyd) | min | max | seconds |")
    print("|---|---|---|---|---|---|")
    for name, (n, d, k, spread) in datasets:
        X = overlapping_blobs(n, d, k, spread, 7)
        rows = {}
        for seed in range(a.seeds):
            th = a.threads
            runs = {
                "KMeans (Lloyd)": lambda: KMeans(k, n_init=1, random_state=seed, n_threads=th),
                "MiniBatchKMeans": lambda: MiniBatchKMeans(k, random_state=seed, n_threads=th),
                "scikit-learn MiniBatchKMeans": lambda: SkMiniBatchKMeans(k, random_state=seed, n_init=1),
                "MiniBatchRBFKMeans entmax15": lambda: MiniBatchRBFKMeans(k, random_state=seed, polish=True, n_threads=th),
                "MiniBatchRBFKMeans softmax": lambda: MiniBatchRBFKMeans(
                    k, map="softmax", random_state=seed, polish=True, n_threads=th),
            }
            if a.full_anneal and d <= 16:
                runs["RBFKMeans entmax15 (full batch, median start)"] = lambda: RBFKMeans(
                    k, sigma0="median", polish=True, reference=False, random_state=seed, n_threads=th)
            base = None
            for method, make in runs.items():
                with threadpool_limits(limits=th):
                    t, m = timed(make, X)
                # Every J on the same footing: over all rows under the final centers, in f64.
                diff = X.astype(np.float64) - m.cluster_centers_.astype(np.float64)[m.predict(X)]
                j = float((diff**2).sum())
                if method == "KMeans (Lloyd)":
                    base = j
                rows.setdefault(method, []).append((j / base, t))
        for method, v in rows.items():
            r = np.array(v)
            print(f"| {name} | {method} | {r[:, 0].mean():.4f} | {r[:, 0].min():.4f} | {r[:, 0].max():.4f} | "
                  f"{r[:, 1].mean():.2f} |", flush=True)


if __name__ == "__main__":
    main()
