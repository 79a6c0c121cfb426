"""kmrbf.dask: K-Means on dask arrays, on one machine or a cluster (``pip install "kmrbf[dask]"``).

Every block of rows runs kmrbf's assignment pass where it lives (a Dask worker) and returns
sufficient statistics (per-center sums and masses in float64, the block's inertia, how many
labels changed, the rows farthest from their centers); the statistics of all blocks are
added in a fixed binary tree, and the update (the in-memory fit's M-step, empty clusters
included) runs on the client. With the blocks fixed, the result is bitwise the same for any
number of workers; across block sizes it agrees with the in-memory fit to rounding (the sums
are added in another order). The labels stay on the workers between iterations.

``import kmrbf`` never imports dask; this module does.
"""

import dask
import dask.array as da
import numpy as np
from dask import delayed
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._validation import check_float, check_int, seed_of


def _tree(items, f):
    """Combine ``items`` pairwise in a fixed binary tree: ((0 1) (2 3)) ..."""
    items = list(items)
    while len(items) > 1:
        items = [delayed(f)(items[i], items[i + 1]) if i + 1 < len(items) else items[i]
                 for i in range(0, len(items), 2)]
    return items[0]


def _add(a, b):
    return a + b


def _column_sums(block):
    return np.asarray(block, dtype=np.float64).sum(axis=0)


def _squared_deviations(block, mean):
    b = np.asarray(block, dtype=np.float64) - mean
    return (b * b).sum(axis=0)


def _first_nonfinite(block, offset):
    bad = np.argwhere(~np.isfinite(np.asarray(block)))
    if len(bad) == 0:
        return None
    r, c = bad[0]
    return (offset + int(r), int(c), float(block[r, c]))


def _merge(a, b):
    return _core.shard_merge(_aligned_stats(a), _aligned_stats(b))


def _aligned(a, dtype=None):
    """C-contiguous and aligned (arrays deserialized on a worker may be neither)."""
    return None if a is None else np.require(a, dtype=dtype, requirements=["C", "A"])


def _aligned_stats(stats):
    return {key: _aligned(v) if isinstance(v, np.ndarray) else v for key, v in stats.items()}


def _pass(block, weight, centers, mean, offset, prev):
    block = _aligned(block)
    return _core.shard_pass(block, _aligned(weight, block.dtype), _aligned(centers), _aligned(mean),
                            offset, _aligned(prev))


def _kmrbf_version():
    """The kmrbf version this process runs (called on every worker)."""
    return _core.__version__


def check_worker_versions():
    """Raise ``RuntimeError`` when a worker of the active distributed client runs another kmrbf
    version than this process, or cannot import kmrbf; the message names each such worker.

    Without a distributed client (dask's local schedulers) the tasks run in this process and
    there is nothing to check. ``KMeans.fit`` and ``predict`` call it first.
    """
    try:
        from distributed import get_client
    except ImportError:
        return
    try:
        client = get_client()
    except ValueError:
        return
    found = client.run(_kmrbf_version, on_error="return")
    bad = {w: v for w, v in found.items() if v != _core.__version__}
    if bad:
        lines = "; ".join(
            f"{w}: {v}" if isinstance(v, str) else f"{w}: kmrbf not importable ({type(v).__name__}: {v})"
            for w, v in sorted(bad.items(), key=lambda item: item[0])
        )
        raise RuntimeError(
            f"kmrbf {_core.__version__} here, but other versions on {len(bad)} of {len(found)} "
            f"workers ({lines}); install the same kmrbf wheel on every worker"
        )


def _first(r):
    return r[0]


def _second(r):
    return r[1]


class KMeans(ClusterMixin, BaseEstimator):
    """Exact K-Means (scikit-learn's semantics) on a dask array.

    Parameters
    ----------
    n_clusters : int, default=8
    init : 'k-means++' or array of shape (n_clusters, n_features), default='k-means++'
        'k-means++': k-means++ (kmrbf's) on a uniform sample of ``init_sample_size`` rows,
        drawn with ``random_state``. An array: the initial centers.
    max_iter : int, default=300
    tol : float, default=1e-4
        scikit-learn's relative tolerance (times the mean column variance of X).
    random_state : int, RandomState or None, default=None
    init_sample_size : int, default=100_000

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features), X's dtype
    labels_ : dask array (n_samples,), int32, one block per block of X (computed lazily)
    inertia_ : float
    n_iter_ : int
    n_features_in_ : int
    """

    def __init__(self, n_clusters=8, *, init="k-means++", max_iter=300, tol=1e-4, random_state=None,
                 init_sample_size=100_000):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.init_sample_size = init_sample_size

    def _prepare(self, X):
        X = da.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got {X.ndim} dimensions")
        if len(X.chunks[1]) != 1:
            raise ValueError(
                f"X's blocks split its columns (chunks along axis 1: {X.chunks[1]}); "
                "every block must hold whole rows: X.rechunk({1: -1})"
            )
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        return X

    def fit(self, X, y=None, sample_weight=None):
        """Fit on the dask array X (blocks of whole rows).

        Parameters
        ----------
        X : dask array or array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : dask array or array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        X = self._prepare(X)
        check_worker_versions()
        n, d = X.shape
        k = check_int("n_clusters", self.n_clusters, 1)
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        max_iter = check_int("max_iter", self.max_iter, 1)
        tol = check_float("tol", self.tol, nonnegative=True)
        blocks = list(X.to_delayed().ravel())
        sizes = X.chunks[0]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        if sample_weight is None:
            weights = [None] * len(blocks)
        else:
            w = da.asarray(sample_weight)
            if w.shape != (n,):
                raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
            weights = list(w.rechunk((sizes,)).astype(X.dtype).to_delayed().ravel())

        # The data's column means (the shift the pass centers by) and mean variance (tol).
        sums = dask.compute(_tree([delayed(_column_sums)(b) for b in blocks], _add))[0]
        mean = sums / n
        if not np.isfinite(mean).all():
            found = dask.compute(*[delayed(_first_nonfinite)(b, int(o)) for b, o in zip(blocks, offsets)])
            row, col, value = min(f for f in found if f is not None)
            raise ValueError(f"X: non-finite value {value} at row {row}, column {col}")
        sq = dask.compute(_tree([delayed(_squared_deviations)(b, mean) for b in blocks], _add))[0]
        tol_abs = tol * float(sq.sum() / (n * d))

        seed = seed_of(self.random_state)
        if isinstance(self.init, str):
            if self.init != "k-means++":
                raise ValueError(f"init must be 'k-means++' or an array, got {self.init!r}")
            m = min(n, check_int("init_sample_size", self.init_sample_size, k))
            idx = np.sort(np.random.RandomState(seed % 2**32).choice(n, m, replace=False))
            sample = np.ascontiguousarray(X[idx].compute())
            c0 = _core.initial_centers(sample, k, "k-means++", seed, None, None)
        else:
            c0 = np.asarray(self.init)
            if c0.shape != (k, d):
                raise ValueError(f"init: expected centers of shape {(k, d)}, got {c0.shape}")
        centers = (np.asarray(c0, dtype=np.float64) - mean).astype(X.dtype)

        labels = [None] * len(blocks)

        def one_pass(centers, labels):
            res = [delayed(_pass)(b, w, centers, mean, int(o), lab)
                   for b, w, o, lab in zip(blocks, weights, offsets, labels)]
            res = dask.persist(*res)
            stats = dask.compute(_tree([delayed(_first)(r) for r in res], _merge))[0]
            return stats, [delayed(_second)(r) for r in res]

        n_iter = 0
        for it in range(max_iter):
            n_iter = it + 1
            stats, labels = one_pass(centers, labels)
            centers, shift, _ = _core.shard_update(_aligned_stats(stats), centers)
            if it > 0 and stats["changed"] == 0:
                break
            if shift <= tol_abs:
                break
        final, labels = one_pass(centers, labels)
        self.cluster_centers_ = (centers.astype(np.float64) + mean).astype(X.dtype)
        self.inertia_ = float(final["inertia"])
        self.n_iter_ = n_iter
        self.n_features_in_ = d
        # A graph from X and the final centers (not the fit's persisted blocks): it survives
        # the loss of any worker and costs one assignment pass when computed.
        self.labels_ = self.predict(X)
        return self

    def predict(self, X):
        """Nearest center of each row, as a dask array (computed lazily, block by block).

        Parameters
        ----------
        X : dask array or array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : dask array (n_samples,), int32
        """
        check_is_fitted(self)
        X = self._prepare(X)
        check_worker_versions()
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but KMeans is expecting {self.n_features_in_} features as input."
            )
        centers = np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)

        def assign(b):
            return _core.assign(_aligned(b), _aligned(centers), 1)

        return X.map_blocks(assign, drop_axis=1, dtype=np.int32)
