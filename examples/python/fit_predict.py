"""kmrbf.KMeans as scikit-learn's KMeans: fit, predict, score, inside a Pipeline.

Run: python examples/python/fit_predict.py
"""

import time

import numpy as np
from sklearn.cluster import KMeans as SkKMeans
from sklearn.cluster import kmeans_plusplus
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kmrbf import KMeans

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)  # float32 stays float32

# The same start for both: k-means++ centers drawn once.
init, _ = kmeans_plusplus(X, 10, random_state=0)
t = time.perf_counter()
ours = KMeans(n_clusters=10, init=init, n_init=1).fit(X)
t_ours = time.perf_counter() - t
t = time.perf_counter()
ref = SkKMeans(n_clusters=10, init=init, n_init=1).fit(X)
t_ref = time.perf_counter() - t
print(f"kmrbf:        inertia {ours.inertia_:.1f} in {ours.n_iter_} iterations, {t_ours * 1e3:.1f} ms")
print(f"scikit-learn: inertia {ref.inertia_:.1f} in {ref.n_iter_} iterations, {t_ref * 1e3:.1f} ms")
print(f"same labels: {np.array_equal(ours.labels_, ref.labels_)}; "
      f"largest center difference {np.abs(ours.cluster_centers_ - ref.cluster_centers_).max():.2e}")
assert np.array_equal(ours.labels_, ref.labels_)

# Everything else as in scikit-learn: predict, transform, score, pipelines.
print("predict:", ours.predict(X[:10]), " ARI vs the digits:", round(adjusted_rand_score(y, ours.labels_), 3))
pipe = make_pipeline(StandardScaler(), KMeans(n_clusters=10, random_state=0)).fit(X)
print("pipeline score (-inertia):", round(pipe.score(X), 1))
