"""Input and parameter checks shared by the estimators and functions (scikit-learn's rules)."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

_FLOATS = (np.float64, np.float32)


def check_int(name, value, low, high=None):
    """``value`` as an int in ``[low, high]``; ``ValueError`` / ``TypeError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f" and <= {high}"
        raise ValueError(f"{name} must be >= {low}{upper}, got {value!r}")
    return int(value)


def check_float(name, value, *, positive=False, nonnegative=False, allow_none=False, open_unit=False):
    """``value`` as a finite float under the given range, or None when allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a float, got {value!r} ({type(value).__name__})")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and not v >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if open_unit and not 0 < v < 1:
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return v


def check_choice(name, value, choices):
    """``value`` if it is one of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def check_n_threads(n_threads):
    """None (one thread per core) or an int >= 1."""
    if n_threads is None:
        return None
    return check_int("n_threads", n_threads, 1)


def seed_of(random_state):
    """The 64-bit seed of the Rust core: the int itself, or one draw from the generator."""
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state!r}")
        return int(random_state)
    rng = check_random_state(random_state)
    return int(rng.randint(0, np.iinfo(np.int32).max))


def check_sample_weight(sample_weight, X):
    """Weights as a contiguous 1-D array of X's dtype (None stays None; a scalar broadcasts)."""
    if sample_weight is None:
        return None
    n = X.shape[0]
    if np.isscalar(sample_weight):
        w = np.full(n, sample_weight, dtype=X.dtype)
    else:
        w = np.asarray(sample_weight)
        if w.ndim != 1:
            raise ValueError(f"sample_weight must be 1D array or scalar, got shape {w.shape}")
        if w.shape[0] != n:
            raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
        w = np.ascontiguousarray(w, dtype=X.dtype)
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinity")
    if np.any(w < 0):
        raise ValueError("sample_weight contains negative values")
    return w


def as_dtype(a, dtype, name):
    """``a`` as a C-contiguous 2-D array of ``dtype`` (copied only when needed)."""
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=dtype)


class unchanged_on_error:
    """Context manager: if the block raises, restore what ``validate_data(reset=True)`` set.

    A failed ``fit`` leaves the estimator as it was (attributes of the previous fit stay).
    """

    _KEYS = ("n_features_in_", "feature_names_in_")

    def __init__(self, estimator):
        self.estimator = estimator
        self.saved = {k: getattr(estimator, k) for k in self._KEYS if hasattr(estimator, k)}

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for k in self._KEYS:
                if k in self.saved:
                    setattr(self.estimator, k, self.saved[k])
                elif hasattr(self.estimator, k):
                    delattr(self.estimator, k)
        return False


def check_n_clusters(n_clusters, X):
    """``n_clusters`` as an int in ``[1, n_samples]``."""
    k = check_int("n_clusters", n_clusters, 1)
    if X.shape[0] < k:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={k}.")
    return k


def check_centers(init, X, k):
    """Initial centers as an array of X's dtype and shape ``(k, n_features)``."""
    c = as_dtype(init, X.dtype, "init")
    if c.shape != (k, X.shape[1]):
        raise ValueError(
            f"The shape of the initial centers {c.shape} does not match the number "
            f"of clusters {k} and features {X.shape[1]}."
        )
    return c
