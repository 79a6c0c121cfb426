"""Deep clustering of scikit-learn's digits: an autoencoder trained jointly with an RBFLayer.

The embedding network and the K-Means centers are trained together (Deep k-Means style): the
loss is the reconstruction error plus lambda times the RBF layer's free energy F at a
temperature annealed geometrically, so the soft assignment hardens into K-Means on the
learned embedding. Prints ACC (best one-to-one matching of clusters to digits) and NMI
against K-Means on the raw pixels. Needs torch: pip install "kmrbf[torch]".

Run: python examples/python/deep_kmeans_digits.py
"""

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.datasets import load_digits
from sklearn.metrics import normalized_mutual_info_score

import kmrbf
from kmrbf.torch import RBFLayer, geometric_schedule


def accuracy(y, labels):
    """Clustering accuracy: the best one-to-one map of clusters to classes."""
    k = max(y.max(), labels.max()) + 1
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (labels, y), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(y)


torch.manual_seed(0)
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
k, dim = 10, 10

pixels = kmrbf.KMeans(k, n_init=10, random_state=0).fit(X)
print(f"K-Means on pixels:       ACC {accuracy(y, pixels.labels_):.3f}  NMI {normalized_mutual_info_score(y, pixels.labels_):.3f}")

class Encoder(torch.nn.Module):
    """Rows on the unit sphere: the clustering loss cannot shrink the embedding to cheat."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, dim))

    def forward(self, x):
        return torch.nn.functional.normalize(self.net(x), dim=1)


encoder = Encoder()
decoder = torch.nn.Sequential(torch.nn.Linear(dim, 256), torch.nn.ReLU(), torch.nn.Linear(256, 64))
xt = torch.from_numpy(X)


def batches(n, size=256):
    perm = torch.randperm(n)
    return [perm[i:i + size] for i in range(0, n, size)]


# 1. Pretrain the autoencoder.
opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
for epoch in range(100):
    for idx in batches(len(xt)):
        loss = torch.nn.functional.mse_loss(decoder(encoder(xt[idx])), xt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

# 2. Centers from K-Means on the embeddings; then train both with the RBF free energy.
with torch.no_grad():
    emb = encoder(xt).numpy()
start = kmrbf.KMeans(k, n_init=10, random_state=0).fit(emb)
print(f"K-Means on the AE embedding: ACC {accuracy(y, start.labels_):.3f}  NMI {normalized_mutual_info_score(y, start.labels_):.3f}")
layer = RBFLayer.from_kmeans(start, map="entmax15", dtype=torch.float32)
scale = float(np.median(((emb[:, None, :] - start.cluster_centers_[None]) ** 2).sum(-1)))
temperatures = geometric_schedule(scale, scale * 1e-2, gamma=0.7)
opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters(), layer.centers], lr=5e-4)
lam = 0.1
for t in temperatures:
    layer.set_temperature(t)
    for _ in range(2):
        for idx in batches(len(xt)):
            z = encoder(xt[idx])
            out = layer(z, return_losses=True)
            loss = torch.nn.functional.mse_loss(decoder(z), xt[idx]) + lam * out.free_energy
            opt.zero_grad()
            loss.backward()
            opt.step()

with torch.no_grad():
    labels = layer(encoder(xt)).argmax(1).numpy()
print(f"Deep RBF K-Means (joint):    ACC {accuracy(y, labels):.3f}  NMI {normalized_mutual_info_score(y, labels):.3f}"
      f"  ({len(temperatures)} temperatures, {scale:.3g} -> {temperatures[-1]:.3g})")
