"""Time per epoch of the deep-clustering autoencoder in plain PyTorch, the same network,
batches and losses as `kmrbf deep`: the reference side of bench/run_deep.sh.

Pretraining epoch: reconstruction (MSE) only. Joint epoch: reconstruction + lambda * F / batch
of an entmax15 head (the `entmax` package) with fixed centers, then the whole embedding and one
closed-form soft-lloyd step, as kmrbf does after each joint epoch.
"""
import argparse
import statistics
import time

import numpy as np
import torch
from entmax import entmax15

p = argparse.ArgumentParser()
p.add_argument("--data", default="data/digits.csv")
p.add_argument("--k", type=int, default=10)
p.add_argument("--hidden", default="500,500,2000")
p.add_argument("--embedding", type=int, default=10)
p.add_argument("--batch-size", type=int, default=256)
p.add_argument("--pretrain-epochs", type=int, default=10)
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--lam", type=float, default=0.01)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

x = np.loadtxt(a.data, delimiter=",", skiprows=1, dtype=np.float32)
x /= np.abs(x).max()
x = torch.from_numpy(x)
n, d = x.shape
widths = [d] + [int(w) for w in a.hidden.split(",")] + [a.embedding]


def mlp(ws):
    layers = []
    for i in range(len(ws) - 1):
        layers.append(torch.nn.Linear(ws[i], ws[i + 1]))
        if i < len(ws) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


enc, dec = mlp(widths), mlp(widths[::-1])
opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
with torch.no_grad():
    centers = enc(x[torch.randperm(n)[: a.k]])


def epoch(joint, sigma=0.01):
    global centers
    t0 = time.perf_counter()
    for rows in torch.randperm(n).split(a.batch_size):
        xb = x[rows]
        z = enc(xb)
        loss = ((dec(z) - xb) ** 2).mean()
        if joint:
            dist = torch.cdist(z, centers).pow(2)
            r = entmax15(-dist / sigma, dim=1).detach()
            h = (4.0 / 3.0) * (1 - (r * r.sqrt()).sum(1))
            f = ((r * dist).sum(1) - sigma * h).sum()
            loss = loss + a.lam * f / len(rows)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if joint:
        with torch.no_grad():
            z = enc(x)
            r = entmax15(-torch.cdist(z, centers).pow(2) / sigma, dim=1)
            mass = r.sum(0)
            moved = (r.T @ z) / mass.clamp_min(1e-30)[:, None]
            centers = torch.where(mass[:, None] > 0, moved, centers)
    return time.perf_counter() - t0


pre = [epoch(False) for _ in range(a.pretrain_epochs)]
joint = [epoch(True) for _ in range(a.epochs)]
print(f"pytorch {torch.__version__} threads {a.threads}: pretrain epoch {statistics.median(pre[1:]):.4f} s, "
      f"joint epoch {statistics.median(joint):.4f} s (medians; first pretraining epoch left out)")
