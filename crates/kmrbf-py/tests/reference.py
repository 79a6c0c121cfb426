"""Naive numpy references of the row maps and objectives (independent of the Rust code)."""

import numpy as np


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sparsemax(z):
    """Sort-based projection onto the simplex (Martins & Astudillo 2016)."""
    zs = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    css = np.cumsum(zs, axis=-1)
    support = 1 + k * zs > css
    kz = support.sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(css, kz - 1, axis=-1) - 1) / kz
    return np.maximum(z - tau, 0)


def entmax15(z):
    """Sort-based exact 1.5-entmax (Peters et al. 2019): p = [z/2 - tau]_+^2."""
    z = z / 2
    zs = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    mean = np.cumsum(zs, axis=-1) / k
    mean_sq = np.cumsum(zs**2, axis=-1) / k
    ss = k * (mean_sq - mean**2)
    delta = np.maximum((1 - ss) / k, 0)
    tau = mean - np.sqrt(delta)
    kz = (tau <= zs).sum(axis=-1, keepdims=True)
    tau_star = np.take_along_axis(tau, kz - 1, axis=-1)
    return np.maximum(z - tau_star, 0) ** 2


def entmax_bisect(z, alpha, iters=200):
    """alpha-entmax by bisection on the threshold (float64)."""
    zz = (alpha - 1) * z
    hi = zz.max(axis=-1, keepdims=True)
    lo = hi - 1.0
    for _ in range(iters):
        tau = (lo + hi) / 2
        p = np.maximum(zz - tau, 0) ** (1 / (alpha - 1))
        s = p.sum(axis=-1, keepdims=True)
        lo = np.where(s >= 1, tau, lo)
        hi = np.where(s >= 1, hi, tau)
    p = np.maximum(zz - lo, 0) ** (1 / (alpha - 1))
    return p / p.sum(axis=-1, keepdims=True)


MAPS = {"softmax": softmax, "entmax15": entmax15, "sparsemax": sparsemax}


def entropy(r, map):
    """The map's (Tsallis / Shannon) entropy of each row."""
    if map == "softmax":
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.where(r > 0, r * np.log(r), 0).sum(axis=1)
    if map == "entmax15":
        return (1 - (r**1.5).sum(axis=1)) / 0.75
    if map == "sparsemax":
        return 0.5 * (1 - (r**2).sum(axis=1))
    raise ValueError(map)


def objectives(X, C, T, map, w=None):
    D = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    r = MAPS[map](-D / T)
    w = np.ones(len(X)) if w is None else w
    J = (w * D.min(axis=1)).sum()
    L = (w * (r * D).sum(axis=1)).sum()
    F = (w * ((r * D).sum(axis=1) - T * entropy(r, map))).sum()
    return J, L, F, r
