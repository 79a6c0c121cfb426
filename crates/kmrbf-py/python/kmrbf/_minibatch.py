"""``kmrbf.MiniBatchKMeans``: mini-batch K-Means with scikit-learn's parameters and updates."""

import numpy as np
from sklearn.utils.validation import check_random_state, validate_data

from . import _core
from ._base import CentersEstimator
from ._validation import (
    _FLOATS,
    check_centers,
    check_choice,
    check_float,
    check_int,
    check_n_clusters,
    check_n_threads,
    check_sample_weight,
    seed_of,
    unchanged_on_error,
)


class MiniBatchKMeans(CentersEstimator):
    """Mini-batch K-Means, with scikit-learn's semantics.

    A drop-in replacement for :class:`sklearn.cluster.MiniBatchKMeans` on dense data: the same
    parameters and attributes, the same per-center learning rates (each center moves to
    ``(c_k n_k + sum_i w_i x_i) / (n_k + sum_i w_i)`` over the rows of a batch assigned to it,
    ``n_k`` its running weight), the same reassignment of light centers and the same stopping
    rule on the smoothed batch inertia. From the same centers and the same batches
    (``partial_fit``) the centers equal scikit-learn's to rounding. ``fit`` draws its batches
    from kmrbf's own random stream, so a seed gives other batches than in scikit-learn. The
    batches are drawn, assigned and applied in Rust without the GIL.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {'k-means++', 'random'} or array-like of shape (n_clusters, n_features), default='k-means++'
        Initialization, run on ``init_size`` rows drawn at random (arrays are used as given).
    max_iter : int, default=100
        Passes over the data: at most ``max_iter * n_samples / batch_size`` batches.
    batch_size : int, default=1024
        Rows per batch (drawn with replacement, with probability proportional to the weights).
    verbose : int, default=0
        Accepted for compatibility; kmrbf prints nothing.
    compute_labels : bool, default=True
        Set ``labels_`` (the whole data's after ``fit``; the batch's, with ``inertia_``, after
        ``partial_fit``, at the cost of a second pass over the batch).
    random_state : int, RandomState instance or None, default=None
        Seed of the initialization, the batches and the reassignments.
    tol : float, default=0.0
        Stop when a batch moves the centers by at most ``tol * mean_j var(X[:, j])`` in
        squared norm (0: off).
    max_no_improvement : int or None, default=10
        Stop after this many batches without a new minimum of the smoothed inertia (None: off).
    init_size : int or None, default=None
        Rows the initialization sees; None: ``3 * batch_size`` (at least ``3 * n_clusters``);
        a size below ``n_clusters`` becomes ``3 * n_clusters``, as in scikit-learn.
    n_init : 'auto' or int, default='auto'
        Initializations tried, the best on a validation subset kept; 'auto': 1 for
        'k-means++' and arrays, 3 for 'random'.
    reassignment_ratio : float, default=0.01
        Centers lighter than this fraction of the heaviest move to random rows of the batch.
    n_threads : int or None, default=None
        Threads of the computation; None uses one per core. Results are bit-identical for
        every thread count.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), dtype int32
        Labels of the training rows (with ``compute_labels``; for ``partial_fit``, of its batch).
    inertia_ : float
        Weighted inertia of the training rows under the final centers (after ``fit``, always
        exact: scikit-learn reports its smoothed batch inertia when ``compute_labels=False``;
        after ``partial_fit``, of its batch, with ``compute_labels``).
    batch_inertia_ : ndarray of shape (n_steps_,)
        After ``fit``: the mean inertia per row of each batch, before its update.
    n_iter_ : int
        Passes over the data the batches amounted to.
    n_steps_ : int
        Batches processed.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        max_iter=100,
        batch_size=1024,
        verbose=0,
        compute_labels=True,
        random_state=None,
        tol=0.0,
        max_no_improvement=10,
        init_size=None,
        n_init="auto",
        reassignment_ratio=0.01,
        n_threads=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.n_threads = n_threads

    def _check_params(self, X):
        k = check_n_clusters(self.n_clusters, X)
        check_int("max_iter", self.max_iter, 1)
        check_int("batch_size", self.batch_size, 1)
        check_float("tol", self.tol, nonnegative=True)
        check_float("reassignment_ratio", self.reassignment_ratio, nonnegative=True)
        if self.max_no_improvement is not None:
            check_int("max_no_improvement", self.max_no_improvement, 0)
        if self.init_size is not None:
            check_int("init_size", self.init_size, 1)
        check_n_threads(self.n_threads)
        init = self.init
        if isinstance(init, str):
            check_choice("init", init, ("k-means++", "random"))
        elif callable(init):
            raise TypeError("init: a callable is not supported by MiniBatchKMeans; pass the centers")
        else:
            init = check_centers(init, X, k)
        if isinstance(self.n_init, str):
            check_choice("n_init", self.n_init, ("auto",))
            n_init = None
        else:
            n_init = check_int("n_init", self.n_init, 1)
        return k, init, n_init

    def _fit(self, X, sample_weight):
        X = validate_data(self, X, dtype=_FLOATS, order="C", ensure_min_samples=1)
        k, init, n_init = self._check_params(X)
        w = check_sample_weight(sample_weight, X)
        r = _core.minibatch_fit(
            X, k, init, n_init, self.max_iter, self.batch_size, float(self.tol),
            self.max_no_improvement, self.init_size, float(self.reassignment_ratio),
            seed_of(self.random_state), w, check_n_threads(self.n_threads),
        )
        self.cluster_centers_ = r["centers"]
        self._counts = r["counts"]
        self._n_since_last_reassign = int(r["since_reassign"])
        self.n_steps_ = int(r["n_steps"])
        self.n_iter_ = int(r["n_iter"])
        self.batch_inertia_ = r["batch_inertia"]
        if self.compute_labels:
            self.labels_ = r["labels"]
        self.inertia_ = float(r["inertia"])
        self._n_features_out = k
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the centers with one batch ``X`` (the first call initializes them on it).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        with unchanged_on_error(self):
            return self._partial_fit(X, sample_weight)

    def _partial_fit(self, X, sample_weight):
        fitted = hasattr(self, "cluster_centers_")
        X = validate_data(self, X, dtype=_FLOATS, order="C", reset=not fitted)
        w = check_sample_weight(sample_weight, X)
        threads = check_n_threads(self.n_threads)
        if not hasattr(self, "_rng"):
            self._rng = check_random_state(self.random_state)
        if not fitted:
            k, init, _ = self._check_params(X)
            if isinstance(init, str):
                seed = int(self._rng.randint(0, np.iinfo(np.int32).max))
                init = _core.initial_centers(X, k, init, seed, w, threads)
            self.cluster_centers_ = np.array(init, dtype=X.dtype, order="C")
            self._counts = np.zeros(k, dtype=X.dtype)
            self._n_since_last_reassign = 0
            self.n_steps_ = 0
            self._n_features_out = k
        centers = np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)
        counts = np.ascontiguousarray(self._counts, dtype=X.dtype)
        seed = int(self._rng.randint(0, np.iinfo(np.int32).max))
        r = _core.minibatch_step(
            X, w, centers, counts, self._n_since_last_reassign,
            float(check_float("reassignment_ratio", self.reassignment_ratio, nonnegative=True)),
            seed, bool(self.compute_labels), threads,
        )
        self.cluster_centers_ = r["centers"]
        self._counts = r["counts"]
        self._n_since_last_reassign = int(r["since_reassign"])
        self.n_steps_ += 1
        if self.compute_labels:
            self.labels_ = r["labels"]
            self.inertia_ = float(r["inertia_after"])
        return self
