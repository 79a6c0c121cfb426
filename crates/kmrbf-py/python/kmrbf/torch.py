"""The RBF layer for PyTorch: K-Means inside a network (``pip install "kmrbf[torch]"``).

``RBFLayer`` holds ``n_clusters`` centers as an ``nn.Parameter`` and maps each row ``z_i`` of
its input to responsibilities ``r_i = map(-||z_i - c_k||^2 / T)`` (softmax, the sparse
entmax-1.5 or sparsemax, or alpha-entmax) at a temperature ``T`` the user anneals. On CPU
float32 / float64 tensors the forward and backward passes run kmrbf's fused kernels (zero
copy, the GIL released); on every other device and dtype the same maths runs in plain torch
operations. Both are exact: the maps' Jacobians, gradients to the inputs and to the centers,
and no NaN or Inf at any temperature in the working precision's range.

``import kmrbf`` never imports torch; this module does.
"""

import math
from collections import namedtuple

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from . import _core

MAPS = ("softmax", "entmax15", "sparsemax", "entmax")
KERNELS = ("temperature", "bandwidth")
REDUCTIONS = ("none", "mean", "sum")

RBFOutput = namedtuple("RBFOutput", ["responsibilities", "distances", "loss", "free_energy"])
RBFOutput.__doc__ = """What :meth:`RBFLayer.forward` returns when distances or losses are asked for.

responsibilities : (n, k) tensor, rows on the simplex.
distances : (n, k) tensor of squared distances ``D``, or None.
loss : the smooth loss ``L_i = <r_i, D_i>`` reduced as asked, or None.
free_energy : ``F_i = <r_i, D_i> - T H(r_i)`` reduced as asked, or None.
"""


def _check_map(map, alpha):
    if map not in MAPS:
        raise ValueError(f"map must be one of {', '.join(repr(m) for m in MAPS)}, got {map!r}")
    if map == "entmax":
        if alpha is None or isinstance(alpha, bool) or not 1 < float(alpha) <= 2:
            raise ValueError(f"alpha must lie in (1, 2] for map='entmax', got {alpha!r}")
        return float(alpha)
    if alpha is not None:
        raise ValueError(f"alpha is only used by map='entmax', got alpha={alpha!r}")
    return None


def _effective(temperature, kernel):
    """The divisor of -D: sigma ('temperature') or 2 sigma^2 ('bandwidth'), checked."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(repr(k) for k in KERNELS)}, got {kernel!r}")
    if isinstance(temperature, torch.Tensor):
        if temperature.numel() != 1:
            raise ValueError(f"temperature must be a scalar, got a tensor of shape {tuple(temperature.shape)}")
        temperature = temperature.item()
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a float, got {temperature!r}")
    t = float(temperature)
    if not (math.isfinite(t) and t > 0):
        raise ValueError(f"temperature must be finite and > 0, got {temperature!r}")
    return t if kernel == "temperature" else 2.0 * t * t


def _check_inputs(z, centers):
    for name, v in (("z", z), ("centers", centers)):
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(v).__name__}")
        if not v.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {v.dtype}")
    if z.dim() != 2:
        raise ValueError(f"z must be 2-D (n_samples, n_features), got shape {tuple(z.shape)}")
    if centers.dim() != 2 or centers.shape[1] != z.shape[1]:
        raise ValueError(
            f"centers must have shape (n_clusters, {z.shape[1]}), got {tuple(centers.shape)}"
        )
    if centers.dtype != z.dtype:
        raise TypeError(f"z and centers must have the same dtype, got {z.dtype} and {centers.dtype}")
    if centers.device != z.device:
        raise ValueError(f"z and centers must be on the same device, got {z.device} and {centers.device}")


def _uses_kernels(z):
    return z.device.type == "cpu" and z.dtype in (torch.float32, torch.float64)


def _jacobian_weights(r, map, alpha):
    if map == "softmax":
        return r
    if map == "entmax15":
        return r.sqrt()
    if map == "sparsemax":
        return (r > 0).to(r.dtype)
    return torch.where(r > 0, r.clamp_min(torch.finfo(r.dtype).tiny) ** (2 - alpha), torch.zeros_like(r))


def _map_backward(r, g, map, alpha):
    s = _jacobian_weights(r, map, alpha)
    return s * (g - (s * g).sum(-1, keepdim=True) / s.sum(-1, keepdim=True))


class _KernelResponsibilities(torch.autograd.Function):
    """R = map(-D / T) on CPU float32 / float64: forward and backward in kmrbf's kernels."""

    @staticmethod
    def forward(ctx, z, centers, t_eff, map, alpha, n_threads):
        zc = z.detach().contiguous()
        cc = centers.detach().contiguous()
        r = torch.from_numpy(
            _core.responsibilities(zc.numpy(), cc.numpy(), t_eff, map, alpha, "temperature", n_threads)
        )
        ctx.save_for_backward(zc, cc, r)
        ctx.settings = (t_eff, map, alpha, n_threads)
        return r

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        zc, cc, r = ctx.saved_tensors
        t_eff, map, alpha, n_threads = ctx.settings
        g = g.detach().to(r.dtype).contiguous()
        gz, gc = _core.resp_backward(zc.numpy(), cc.numpy(), r.numpy(), g.numpy(), t_eff, map, alpha, n_threads)
        gz = torch.from_numpy(gz) if ctx.needs_input_grad[0] else None
        gc = torch.from_numpy(gc) if ctx.needs_input_grad[1] else None
        return gz, gc, None, None, None, None


def _sorted_threshold_map(u, map):
    """entmax15 / sparsemax of logits ``u`` (rows max-shifted to 0) by sorting."""
    # Entries below -2 get exactly 0 in both maps; clamping them keeps -inf out of the sums.
    u = u.clamp_min(-4.0)
    k = u.shape[-1]
    ks = torch.arange(1, k + 1, device=u.device, dtype=u.dtype)
    if map == "sparsemax":
        zs, _ = torch.sort(u, dim=-1, descending=True)
        css = zs.cumsum(-1)
        support = (1 + ks * zs > css).sum(-1, keepdim=True)
        tau = (css.gather(-1, support - 1) - 1) / support.to(u.dtype)
        return (u - tau).clamp_min(0)
    z = u / 2
    zs, _ = torch.sort(z, dim=-1, descending=True)
    mean = zs.cumsum(-1) / ks
    mean_sq = (zs * zs).cumsum(-1) / ks
    delta = ((1 - ks * (mean_sq - mean * mean)) / ks).clamp_min(0)
    tau = mean - delta.sqrt()
    support = (tau <= zs).sum(-1, keepdim=True)
    tau_star = tau.gather(-1, support - 1)
    return (z - tau_star).clamp_min(0) ** 2


def _bisect_entmax(u, alpha, iters=60):
    """alpha-entmax of logits ``u`` (rows max-shifted to 0) by bisection on the threshold."""
    a1 = alpha - 1
    zz = (a1 * u).clamp_min(-2.0)
    hi = torch.zeros(u.shape[:-1] + (1,), dtype=u.dtype, device=u.device)
    lo = hi - 1.0
    for _ in range(iters):
        tau = (lo + hi) / 2
        mass = ((zz - tau).clamp_min(0) ** (1 / a1)).sum(-1, keepdim=True)
        lo = torch.where(mass >= 1, tau, lo)
        hi = torch.where(mass >= 1, hi, tau)
    p = (zz - lo).clamp_min(0) ** (1 / a1)
    return p / p.sum(-1, keepdim=True)


class _PlainMap(torch.autograd.Function):
    """The row map in torch operations, with the maps' exact Jacobian as its backward."""

    @staticmethod
    def forward(ctx, u, map, alpha):
        u = u - u.amax(-1, keepdim=True)
        if map == "softmax":
            r = torch.softmax(u, dim=-1)
        elif map == "entmax":
            r = _bisect_entmax(u, alpha)
        else:
            r = _sorted_threshold_map(u, map)
        ctx.save_for_backward(r)
        ctx.settings = (map, alpha)
        return r

    @staticmethod
    def backward(ctx, g):
        (r,) = ctx.saved_tensors
        map, alpha = ctx.settings
        return _map_backward(r, g, map, alpha), None, None


def squared_distances(z, centers):
    """``D_ik = ||z_i - c_k||^2`` (n x k) in torch operations, differentiable.

    Rows and centers are shifted by the centers' mean first (no distance changes; the
    expansion ``|z|^2 - 2 z.c + |c|^2`` then stays accurate far from the origin).
    """
    _check_inputs(z, centers)
    m = centers.detach().mean(0, keepdim=True)
    zs, cs = z - m, centers - m
    d = (zs * zs).sum(1, keepdim=True) - 2 * zs @ cs.T + (cs * cs).sum(1)
    return d.clamp_min(0)


def responsibilities(z, centers, temperature, map="entmax15", *, alpha=None, kernel="temperature", n_threads=None):
    """``map(-||z_i - c_k||^2 / T)``: the (n, k) responsibilities, differentiable in z and centers.

    Parameters
    ----------
    z : (n, d) tensor
    centers : (k, d) tensor, same dtype and device as z
    temperature : float > 0
        ``T`` with kernel 'temperature'; the bandwidth sigma (``T = 2 sigma^2``) with 'bandwidth'.
    map : {'entmax15', 'softmax', 'sparsemax', 'entmax'}
    alpha : float in (1, 2], for map='entmax' only
    kernel : {'temperature', 'bandwidth'}
    n_threads : int or None
        Threads of the CPU kernels (None: one per core).

    Returns
    -------
    r : (n, k) tensor, rows on the simplex (exact zeros for the sparse maps).
    """
    alpha = _check_map(map, alpha)
    t = _effective(temperature, kernel)
    _check_inputs(z, centers)
    if _uses_kernels(z):
        return _KernelResponsibilities.apply(z, centers, t, map, alpha, n_threads)
    return plain_responsibilities(z, centers, temperature, map, alpha=alpha, kernel=kernel)


def plain_responsibilities(z, centers, temperature, map="entmax15", *, alpha=None, kernel="temperature"):
    """:func:`responsibilities` in plain torch operations (any device and dtype)."""
    alpha = _check_map(map, alpha)
    t = _effective(temperature, kernel)
    d = squared_distances(z, centers)
    return _PlainMap.apply(-d / t, map, alpha)


def _entropy(r, map, alpha):
    if map == "softmax":
        return -torch.special.xlogy(r, r).sum(-1)
    if map == "entmax15":
        return (1 - (r**1.5).sum(-1)) / 0.75
    if map == "sparsemax":
        return 0.5 * (1 - (r * r).sum(-1))
    return (1 - (r**alpha).sum(-1)) / (alpha * (alpha - 1))


def _reduce(v, reduction):
    if reduction == "none":
        return v
    return v.mean() if reduction == "mean" else v.sum()


class RBFLayer(nn.Module):
    """Normalized RBF units: K-Means as a differentiable layer.

    Parameters
    ----------
    n_clusters : int
        Number of units (centers).
    n_features : int
        Dimension of the input rows.
    map : {'entmax15', 'softmax', 'sparsemax', 'entmax'}, default='entmax15'
    alpha : float or None
        For map='entmax', in (1, 2].
    kernel : {'temperature', 'bandwidth'}, default='temperature'
    temperature : float, default=1.0
        Initial temperature (a buffer: saved with the state dict, not trained).
    centers : tensor of shape (n_clusters, n_features) or None
        Initial centers; None draws them from a standard normal.
    n_threads : int or None
        Threads of the CPU kernels.
    dtype, device : as for torch.nn modules.

    Examples
    --------
    >>> import torch
    >>> from kmrbf.torch import RBFLayer
    >>> layer = RBFLayer(3, 2, centers=torch.tensor([[0., 0.], [5., 5.], [0., 5.]]))
    >>> r = layer(torch.tensor([[0.1, 0.0], [5.0, 4.9]]), temperature=0.1)
    >>> r.argmax(1).tolist()
    [0, 1]
    """

    def __init__(self, n_clusters, n_features, *, map="entmax15", alpha=None, kernel="temperature",
                 temperature=1.0, centers=None, n_threads=None, dtype=None, device=None):
        super().__init__()
        self.alpha = _check_map(map, alpha)
        self.map = map
        _effective(temperature, kernel)
        self.kernel = kernel
        self.n_threads = n_threads
        if centers is None:
            centers = torch.randn(n_clusters, n_features, dtype=dtype, device=device)
        else:
            centers = torch.as_tensor(centers, dtype=dtype, device=device).clone()
            if tuple(centers.shape) != (n_clusters, n_features):
                raise ValueError(
                    f"centers must have shape ({n_clusters}, {n_features}), got {tuple(centers.shape)}"
                )
        self.centers = nn.Parameter(centers)
        self.register_buffer("temperature", torch.tensor(float(temperature), dtype=torch.float64))

    @classmethod
    def from_kmeans(cls, kmeans, **kwargs):
        """A layer whose centers are a fitted :class:`kmrbf.KMeans`'s (or scikit-learn's)."""
        c = torch.as_tensor(kmeans.cluster_centers_)
        kwargs.setdefault("dtype", c.dtype)
        return cls(c.shape[0], c.shape[1], centers=c, **kwargs)

    def set_temperature(self, temperature):
        """Sets the temperature buffer (checked > 0)."""
        _effective(temperature, self.kernel)
        self.temperature.fill_(float(temperature))

    def extra_repr(self):
        return (f"n_clusters={self.centers.shape[0]}, n_features={self.centers.shape[1]}, map={self.map!r}, "
                f"kernel={self.kernel!r}, temperature={self.temperature.item():g}")

    def forward(self, z, temperature=None, *, return_distances=False, return_losses=False, reduction="mean"):
        """Responsibilities of the rows of ``z`` (n, d).

        Parameters
        ----------
        z : (n, d) tensor
        temperature : float or None
            None uses the buffer ``self.temperature``.
        return_distances : bool
            Also return the squared distances.
        return_losses : bool
            Also return ``L`` and ``F`` (reduced by ``reduction``). ``F``'s gradient is the
            envelope gradient (responsibilities held fixed), exact for every map.
        reduction : {'mean', 'sum', 'none'}

        Returns
        -------
        r : (n, k) tensor, or an :data:`RBFOutput` when distances or losses are asked for.
        """
        t = self.temperature.item() if temperature is None else temperature
        r = responsibilities(z, self.centers, t, self.map, alpha=self.alpha, kernel=self.kernel,
                             n_threads=self.n_threads)
        if not (return_distances or return_losses):
            return r
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(repr(v) for v in REDUCTIONS)}, got {reduction!r}")
        d = squared_distances(z, self.centers)
        loss = free = None
        if return_losses:
            t_eff = _effective(t, self.kernel)
            loss = _reduce((r * d).sum(-1), reduction)
            rd = r.detach()
            free = _reduce((rd * d).sum(-1) - t_eff * _entropy(rd, self.map, self.alpha), reduction)
        return RBFOutput(r, d if return_distances else None, loss, free)

    @torch.no_grad()
    def soft_lloyd_(self, z, temperature=None, sample_weight=None):
        """The closed-form center update: ``c_k = sum_i w_i r_ik z_i / N_k``.

        Gradient descent on F with step ``1 / (2 N_k)`` (the paper's soft-lloyd step); centers
        with no mass stay. Returns the largest squared center move.
        """
        r = self.forward(z.detach(), temperature)
        if sample_weight is not None:
            r = r * sample_weight.reshape(-1, 1).to(r.dtype)
        mass = r.sum(0)
        m = self.centers.detach().mean(0, keepdim=True)
        new = (r.T @ (z.detach() - m)) / mass.clamp_min(torch.finfo(r.dtype).tiny).unsqueeze(1) + m
        keep = (mass > 0).unsqueeze(1)
        new = torch.where(keep, new, self.centers)
        move = ((new - self.centers) ** 2).sum(1).max().item()
        self.centers.copy_(new)
        return move


def geometric_schedule(start, stop, gamma=0.5):
    """Temperatures ``start, start * gamma, ...`` down to ``stop`` (inclusive of the last above it)."""
    t = _effective(start, "temperature")
    stop = _effective(stop, "temperature")
    if not 0 < gamma < 1:
        raise ValueError(f"gamma must lie in (0, 1), got {gamma!r}")
    out = []
    while t >= stop:
        out.append(t)
        t *= gamma
    return out


def dkm_schedule(start, steps):
    """DKM's schedule on ``alpha = 1 / T``: ``alpha_{n+1} = 2^(1 / ln(n)^2) alpha_n`` for n >= 2,
    from ``alpha_1 = 1 / start``; ``steps`` temperatures."""
    t = _effective(start, "temperature")
    out = [t]
    a = 1.0 / t
    for n in range(2, steps + 1):
        a *= 2.0 ** (1.0 / math.log(n) ** 2)
        out.append(1.0 / a)
    return out


__all__ = [
    "RBFLayer",
    "RBFOutput",
    "dkm_schedule",
    "geometric_schedule",
    "plain_responsibilities",
    "responsibilities",
    "squared_distances",
]
