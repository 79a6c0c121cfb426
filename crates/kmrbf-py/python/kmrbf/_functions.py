"""Row maps, responsibilities and objectives as functions on arrays."""

import numpy as np

from . import _core
from ._validation import _FLOATS, check_choice, check_float, check_n_threads, check_sample_weight

_MAPS = ("softmax", "entmax15", "sparsemax", "entmax", "hard")


def _map_along(z, axis, map, alpha, n_threads):
    z = np.asarray(z)
    if z.dtype not in _FLOATS:
        z = z.astype(np.float64)
    if z.ndim == 0:
        raise ValueError("z must have at least one dimension")
    moved = np.moveaxis(z, axis, -1)
    shape = moved.shape
    rows = np.ascontiguousarray(moved.reshape(-1, shape[-1]))
    out = _core.map_rows(rows, map, alpha, check_n_threads(n_threads))
    return np.moveaxis(out.reshape(shape), -1, axis)


def softmax(z, axis=-1, *, n_threads=None):
    """Softmax along ``axis``: ``exp(z - max z) / sum exp(z - max z)``.

    Parameters
    ----------
    z : array-like of float
        Logits; float32 stays float32, other dtypes become float64. ``-inf`` entries get 0
        (at least one finite entry per slice); NaN and ``+inf`` raise ``ValueError``.
    axis : int, default=-1
        The axis that sums to 1.
    n_threads : int or None, default=None
        Threads; None uses one per core.

    Returns
    -------
    p : ndarray, same shape and dtype as z
    """
    return _map_along(z, axis, "softmax", None, n_threads)


def entmax15(z, axis=-1, *, n_threads=None):
    """1.5-entmax along ``axis``: ``p = [z / 2 - tau]_+^2`` with the exact threshold ``tau``.

    Sparse (exact zeros) and smooth; equals the ``entmax`` package's ``entmax15``.

    Parameters
    ----------
    z : array-like of float
    axis : int, default=-1
    n_threads : int or None, default=None

    Returns
    -------
    p : ndarray, same shape and dtype as z
    """
    return _map_along(z, axis, "entmax15", None, n_threads)


def sparsemax(z, axis=-1, *, n_threads=None):
    """Sparsemax along ``axis``: the Euclidean projection of ``z`` onto the simplex.

    Parameters
    ----------
    z : array-like of float
    axis : int, default=-1
    n_threads : int or None, default=None

    Returns
    -------
    p : ndarray, same shape and dtype as z
    """
    return _map_along(z, axis, "sparsemax", None, n_threads)


def entmax(z, alpha, axis=-1, *, n_threads=None):
    """alpha-entmax along ``axis`` for ``alpha`` in (1, 2] (threshold by bisection).

    ``alpha = 1.5`` is :func:`entmax15` (computed by its exact algorithm), ``alpha = 2``
    :func:`sparsemax`.

    Parameters
    ----------
    z : array-like of float
    alpha : float
        In (1, 2].
    axis : int, default=-1
    n_threads : int or None, default=None

    Returns
    -------
    p : ndarray, same shape and dtype as z
    """
    a = check_float("alpha", alpha)
    if not 1 < a <= 2:
        raise ValueError(f"alpha must lie in (1, 2], got {alpha!r}")
    if a == 1.5:
        return entmax15(z, axis, n_threads=n_threads)
    if a == 2.0:
        return sparsemax(z, axis, n_threads=n_threads)
    return _map_along(z, axis, "entmax", a, n_threads)


def _pair(X, centers):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    dtype = X.dtype if X.dtype in _FLOATS else np.float64
    X = np.ascontiguousarray(X, dtype=dtype)
    c = np.asarray(centers)
    if c.ndim != 2 or c.shape[1] != X.shape[1]:
        raise ValueError(f"centers must have shape (n_clusters, {X.shape[1]}), got {c.shape}")
    return X, np.ascontiguousarray(c, dtype=dtype)


def _map_args(map, alpha, kernel, temperature):
    check_choice("map", map, _MAPS)
    check_choice("kernel", kernel, ("temperature", "bandwidth"))
    t = check_float("temperature", temperature, positive=True)
    if map == "entmax":
        a = check_float("alpha", alpha)
        if not 1 < a <= 2:
            raise ValueError(f"alpha must lie in (1, 2], got {alpha!r}")
    elif alpha is not None:
        raise ValueError(f"alpha is only used by map='entmax', got alpha={alpha!r}")
    return t, None if alpha is None else float(alpha)


def responsibilities(X, centers, temperature, map="entmax15", *, alpha=None, kernel="temperature", n_threads=None):
    """Responsibilities ``map(-||x_i - c_k||^2 / T)`` of each row (rows on the simplex).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    centers : array-like of shape (n_clusters, n_features)
    temperature : float
        ``T`` (kernel 'temperature') or the bandwidth sigma with ``T = 2 sigma^2``; > 0.
    map : {'entmax15', 'softmax', 'sparsemax', 'entmax', 'hard'}, default='entmax15'
    alpha : float or None
        For map='entmax' only.
    kernel : {'temperature', 'bandwidth'}, default='temperature'
    n_threads : int or None, default=None

    Returns
    -------
    r : ndarray of shape (n_samples, n_clusters), X's dtype (float32 or float64)
    """
    X, c = _pair(X, centers)
    t, a = _map_args(map, alpha, kernel, temperature)
    return _core.responsibilities(X, c, t, map, a, kernel, check_n_threads(n_threads))


def objectives(X, centers, temperature, map="entmax15", *, gradient=None, sample_weight=None,
               alpha=None, kernel="temperature", n_threads=None):
    """The K-Means distortion J, the RBF loss L and the free energy F (and gradients).

    ``J = sum_i w_i min_k D_ik``, ``L = sum_i w_i <r_i, D_i>``,
    ``F = sum_i w_i (<r_i, D_i> - T H(r_i))`` with ``D_ik = ||x_i - c_k||^2``; they satisfy
    ``0 <= L - J <= bound`` and ``-bound <= F - J <= 0`` with ``bound = T W Hmax``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    centers : array-like of shape (n_clusters, n_features)
    temperature : float
    map : {'entmax15', 'softmax', 'sparsemax', 'entmax', 'hard'}, default='entmax15'
    gradient : {None, 'stopgrad', 'full'}, default=None
        'stopgrad': the gradients of F (the responsibilities held fixed: exact for F by
        Danskin's theorem); 'full': of L, through the map's Jacobian.
    sample_weight : array-like of shape (n_samples,), default=None
    alpha : float or None
    kernel : {'temperature', 'bandwidth'}, default='temperature'
    n_threads : int or None, default=None

    Returns
    -------
    out : dict
        ``J``, ``L``, ``F``, ``weight`` (W), ``bound``, ``mean_support``,
        ``onehot_fraction``; with ``gradient``, ``grad_centers`` (float64, shape of centers)
        and ``grad_X`` (X's dtype, shape of X).
    """
    X, c = _pair(X, centers)
    t, a = _map_args(map, alpha, kernel, temperature)
    if gradient is not None:
        check_choice("gradient", gradient, ("stopgrad", "full"))
    w = check_sample_weight(sample_weight, X)
    return _core.objectives(X, c, t, map, a, kernel, gradient, w, check_n_threads(n_threads))
