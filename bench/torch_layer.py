"""Forward + backward of the RBF layer on 1,000,000 x 32 rows with 64 centers, CPU float32:
kmrbf.torch against plain PyTorch (softmax of the negative distances) and PyTorch + the
`entmax` package (entmax15), same input, same thread count, one run; medians of three.

Two measurements per map: the layer alone (`R.backward(G)` for a fixed random upstream
gradient G: the forward and the vector-Jacobian product to the rows and the centers), and the
layer inside the loss `sum(R * G)` (torch's multiply, sum and their backward added on both
sides). One untimed call of each side first.

Run through bench/run_torch.sh (it makes the venv with torch and entmax).
"""
import argparse
import time

import numpy as np
import torch
from entmax import entmax15

import kmrbf.torch as kt


def plain(z, c, t, kind):
    d = ((z * z).sum(1, keepdim=True) - 2 * z @ c.T + (c * c).sum(1)).clamp_min(0)
    return torch.softmax(-d / t, dim=1) if kind == "softmax" else entmax15(-d / t, dim=1)


def timed(f, z, c, g, loss):
    ts = []
    for rep in range(4):
        z.grad = c.grad = None
        t = time.perf_counter()
        r = f()
        if loss:
            (r * g).sum().backward()
        else:
            r.backward(g)
        if rep > 0:
            ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--n", type=int, default=1_000_000)
    a = ap.parse_args()
    n, d, k, temp = a.n, 32, 64, 2.0
    gen = torch.Generator().manual_seed(0)
    centers = torch.rand(k, d, generator=gen) * 2 - 1
    z = (centers[torch.randint(0, k, (n,), generator=gen)] + 0.6 * torch.randn(n, d, generator=gen)).requires_grad_()
    c = z.detach()[torch.randperm(n, generator=gen)[:k]].clone().requires_grad_()
    g = torch.randn(n, k, generator=gen)
    print(f"{n} x {d} float32, {k} centers, temperature {temp}; forward + backward (rows and centers)")
    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        for kind in ("softmax", "entmax15"):
            for loss in (False, True):
                t_ours = timed(lambda: kt.responsibilities(z, c, temp, kind, n_threads=threads), z, c, g, loss)
                t_torch = timed(lambda: plain(z, c, temp, kind), z, c, g, loss)
                peer = "PyTorch" if kind == "softmax" else "PyTorch + entmax"
                what = "sum(R * G)" if loss else "R.backward(G)"
                print(f"{threads} thread(s) {kind:9} {what:13}: kmrbf.torch {t_ours * 1e3:8.1f} ms, "
                      f"{peer} {t_torch * 1e3:8.1f} ms -> {t_torch / t_ours:5.1f}x", flush=True)


if __name__ == "__main__":
    main()
