"""``kmrbf.KMeans``: exact K-Means with scikit-learn's parameters, attributes and results."""

import numpy as np
from sklearn.utils.validation import validate_data

from . import _core
from ._base import CentersEstimator
from ._validation import (
    _FLOATS,
    as_dtype,
    check_centers,
    check_choice,
    check_float,
    check_int,
    check_n_clusters,
    check_n_threads,
    check_sample_weight,
    seed_of,
)

_ALGORITHMS = {
    "lloyd": "lloyd",
    "elkan": "hamerly",
    "hamerly": "hamerly",
    "yinyang": "yinyang",
    "auto": "auto",
}


class KMeans(CentersEstimator):
    """K-Means clustering, exact, with scikit-learn's semantics.

    A drop-in replacement for :class:`sklearn.cluster.KMeans` on dense data: the same
    parameters, attributes and stopping rules, and from the same initial centers the same
    labels and centers (up to floating-point rounding). The iterations run on kmrbf's fused
    distance + argmin kernels in the input's precision (float32 stays float32) with the GIL
    released.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {'k-means++', 'random'}, callable or array-like of shape (n_clusters, n_features), default='k-means++'
        'k-means++': greedy k-means++ with ``2 + floor(ln k)`` local trials (scikit-learn's
        default; kmrbf's own random stream, so the seeds differ from scikit-learn's).
        'random': ``n_clusters`` distinct rows drawn with probability proportional to their
        weight. An array: the initial centers. A callable: ``init(X, n_clusters, random_state)``
        returns the centers.
    n_init : 'auto' or int, default='auto'
        Restarts; the one with the lowest inertia is kept. 'auto': 1 for 'k-means++' and
        arrays, 10 for 'random' and callables.
    max_iter : int, default=300
        Iterations per restart.
    tol : float, default=1e-4
        Stop when ``sum_k ||c_k(new) - c_k(old)||^2 <= tol * mean_j var(X[:, j])``
        (scikit-learn's rule), or when the labels stop changing.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialization. An int is used as kmrbf's 64-bit seed as is (the CLI's
        ``--seed``); None or a RandomState draws one.
    copy_x : bool, default=True
        True: the data is centered on a copy. False: centered in place and restored
        afterwards (no extra memory; values may differ from the input by one rounding, as
        with scikit-learn).
    algorithm : {'lloyd', 'elkan', 'hamerly', 'yinyang', 'auto'}, default='lloyd'
        'lloyd': the fused kernel. 'hamerly' (and 'elkan', accepted for scikit-learn
        compatibility): Hamerly's bounds skip distance computations; same results.
        'yinyang': group bounds that skip most distances at large n_clusters; the labels
        and centers of 'lloyd' bit for bit.
        'auto': the fastest measured (currently 'lloyd').
    n_threads : int or None, default=None
        Threads of the computation; None uses one per core. Results are bit-identical for
        every thread count.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centers, in X's dtype.
    labels_ : ndarray of shape (n_samples,), dtype int32
        Cluster of each training row.
    inertia_ : float
        ``sum_i w_i ||x_i - c_{label_i}||^2`` on the training data.
    n_iter_ : int
        Iterations of the kept restart.
    n_features_in_ : int
        Features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had string column names (pandas).

    Examples
    --------
    >>> import numpy as np
    >>> from kmrbf import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]], dtype=float)
    >>> km = KMeans(n_clusters=2, init=X[[0, 3]], n_init=1).fit(X)
    >>> km.labels_
    array([0, 0, 0, 1, 1, 1], dtype=int32)
    >>> km.cluster_centers_
    array([[ 1.,  2.],
           [10.,  2.]])
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
        n_threads=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.n_threads = n_threads

    def _check_params(self, X):
        k = check_n_clusters(self.n_clusters, X)
        check_int("max_iter", self.max_iter, 1)
        check_float("tol", self.tol, nonnegative=True)
        check_n_threads(self.n_threads)
        check_choice("algorithm", self.algorithm, tuple(_ALGORITHMS))
        if not isinstance(self.copy_x, (bool, np.bool_)):
            raise TypeError(f"copy_x must be a bool, got {self.copy_x!r}")
        init = self.init
        if isinstance(init, str):
            check_choice("init", init, ("k-means++", "random"))
        elif not callable(init):
            init = check_centers(init, X, k)
        if isinstance(self.n_init, str):
            check_choice("n_init", self.n_init, ("auto",))
            n_init = 1 if (isinstance(init, str) and init == "k-means++") or isinstance(init, np.ndarray) else 10
        else:
            n_init = check_int("n_init", self.n_init, 1)
        if isinstance(init, np.ndarray) and n_init != 1:
            # As scikit-learn: restarts from the same given centers would be identical.
            n_init = 1
        return k, init, n_init

    def _fit(self, X, sample_weight):
        X = validate_data(self, X, dtype=_FLOATS, order="C", ensure_min_samples=1)
        k, init, n_init = self._check_params(X)
        w = check_sample_weight(sample_weight, X)
        seed = seed_of(self.random_state)
        copy_x = bool(self.copy_x) or not X.flags.writeable
        algorithm = _ALGORITHMS[self.algorithm]
        threads = check_n_threads(self.n_threads)
        if callable(init):
            rng = np.random.RandomState(seed % (2**32))
            best = None
            for _ in range(n_init):
                c0 = as_dtype(init(X, k, rng), X.dtype, "init (returned by the callable)")
                if c0.shape != (k, X.shape[1]):
                    raise ValueError(
                        f"init returned centers of shape {c0.shape}, expected {(k, X.shape[1])}"
                    )
                r = _core.kmeans_fit(X, k, c0, 1, self.max_iter, self.tol, seed, algorithm, w, threads, copy_x)
                if best is None or r[2] < best[2]:
                    best = r
            centers, labels, inertia, n_iter = best
        else:
            centers, labels, inertia, n_iter = _core.kmeans_fit(
                X, k, init, n_init, self.max_iter, self.tol, seed, algorithm, w, threads, copy_x
            )
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self._n_features_out = k
        return self
