"""RBFKMeans: anneal the RBF model to its K-Means limit and plot the trace.

At each temperature sigma the record holds J (K-Means distortion), L (RBF loss), F (free
energy), the one-hot fraction and the distance of the centers to the K-Means fixed point
reached from the same start. Writes anneal_trace.png (needs matplotlib: pip install
"kmrbf[plot]").

Run: python examples/python/anneal_trace.py
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from kmrbf import RBFKMeans

X = load_digits().data.astype(np.float32)
init = X[np.random.RandomState(0).choice(len(X), 10, replace=False)]

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
for map in ("softmax", "entmax15", "sparsemax"):
    # sigma0 = 'median' starts soft (the one-hot 'auto' start is Lloyd from the first step).
    m = RBFKMeans(n_clusters=10, map=map, sigma0="median", init=init, polish=True).fit(X)
    s = np.array([r["sigma"] for r in m.trace_])
    J = np.array([r["J"] for r in m.trace_])
    F = np.array([r["F"] for r in m.trace_])
    disc = np.array([r["discrepancy"] for r in m.trace_])
    last = m.trace_[-1]
    print(f"{map:9}: {len(s)} temperatures from {s[0]:.3g} to {s[-1]:.3g}, "
          f"one-hot {last['onehot_fraction']:.3f}, J {last['J']:.1f} "
          f"(K-Means from the same start: {m.kmeans_.inertia_:.1f}), ARI {last['ari']:.3f}")
    ax1.loglog(s, np.maximum(J - F, 1e-12), label=f"J - F, {map}")
    ax2.loglog(s, np.maximum(disc, 1e-12), label=map)
ax1.set_xlabel("sigma")
ax1.set_title("J - F (0 at the K-Means limit)")
ax2.set_xlabel("sigma")
ax2.set_title("distance to the K-Means fixed point")
for ax in (ax1, ax2):
    ax.invert_xaxis()
    ax.legend()
fig.tight_layout()
fig.savefig("anneal_trace.png", dpi=100)
print("wrote anneal_trace.png")

# From sigma0 = 'auto' every row is one-hot along Lloyd's path: the annealing is Lloyd's
# trajectory and lands exactly on its fixed point (the paper's equivalence), in float32 too.
m = RBFKMeans(n_clusters=10, map="entmax15", init=init).fit(X)
print(f"sigma0='auto': distance to the K-Means fixed point {m.trace_[-1]['discrepancy']}, "
      f"ARI {m.trace_[-1]['ari']}")
