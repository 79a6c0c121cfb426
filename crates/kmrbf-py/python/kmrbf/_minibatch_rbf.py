"""``kmrbf.MiniBatchRBFKMeans``: the RBF model annealed on mini-batches."""

import numpy as np
from sklearn.utils.validation import check_random_state, validate_data

from . import _core
from ._minibatch import MiniBatchKMeans
from ._rbf import SoftPredictions, cooling_of, reference_kmeans
from ._validation import (
    _FLOATS,
    check_float,
    check_int,
    check_n_threads,
    check_sample_weight,
    seed_of,
)

#: Batches per temperature of ``partial_fit`` when ``stage_batches`` is None.
PARTIAL_FIT_STAGE_BATCHES = 100


class MiniBatchRBFKMeans(SoftPredictions, MiniBatchKMeans):
    """The RBF model of K-Means annealed on mini-batches, landing on mini-batch K-Means.

    Each batch moves every center to the running mean of the rows weighted by their
    responsibilities: with ``S_k = sum_i w_i r_ik x_i`` and ``M_k = sum_i w_i r_ik`` of the
    batch, ``c_k <- (n_k c_k + S_k) / (n_k + M_k)`` and ``n_k <- n_k + M_k`` (scikit-learn's
    mini-batch update with the hard labels replaced by the responsibilities of ``map`` at the
    current temperature). The temperature falls stage by stage as in :class:`RBFKMeans`; each
    stage starts from the last one's centers with fresh running weights and ends by
    scikit-learn's mini-batch rules on the smoothed batch free energy F. Where a batch is
    one-hot the step is :class:`MiniBatchKMeans`' own, bit for bit: with a ``temperature`` far
    below every distance gap this estimator is :class:`MiniBatchKMeans` with the same seed.

    Parameters
    ----------
    n_clusters : int, default=8
    map, alpha, kernel, sigma_min, gamma, schedule
        As :class:`RBFKMeans`.
    temperature : float or None, default=None
        A single fixed temperature (sigma) instead of the schedule.
    sigma0 : {'median', 'auto'} or float, default='median'
        Start of the annealing, measured at the initial centers on the initialization's
        validation subset (``partial_fit``: on its first batch). 'median': a soft start at
        the median two-nearest gap. 'auto': the smallest gap along Lloyd's path from the
        initial centers (on that subset), where every row is one-hot.
    stage_batches : int or None, default=None
        Batches per temperature at most; None: one pass over the data (``partial_fit``:
        100).
    polish : bool, default=False
        Finish ``fit`` with mini-batch K-Means batches (fresh running weights, at most
        ``max_iter`` passes, the same stopping rules).
    reference : bool, default=False
        Also run K-Means (Lloyd) from the same initial centers on all rows (``kmeans_``) and
        record each stage's discrepancy, ARI and NMI to its fixed point in ``trace_``.
    init, max_iter, batch_size, verbose, compute_labels, random_state, tol, max_no_improvement, init_size, n_init, reassignment_ratio, n_threads
        As :class:`MiniBatchKMeans`; ``tol`` and ``max_no_improvement`` end each stage.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), dtype int32
        Nearest center of each training row (with ``compute_labels``; for ``partial_fit``,
        of its batch).
    inertia_ : float
        K-Means distortion J of the training rows under the final centers (for
        ``partial_fit``, of its batch, with ``compute_labels``).
    temperature_ : float
        The last temperature (sigma) reached; ``predict_proba`` and ``score`` use it.
    sigma0_ : float
        The first temperature.
    trace_ : list of dict
        After ``fit``: one dict per temperature, the keys of :class:`RBFKMeans`' ``trace_``
        (``steps`` counts batches; ``J``, ``L``, ``F`` are over all rows at the stage's end).
    kmeans_ : KMeans or None
        The reference K-Means run (``reference=True``).
    batch_loss_ : float
        After ``partial_fit``: its batch's free energy F under the centers before the step
        (J where the batch was one-hot).
    n_steps_ : int
        Batches processed (stages and polish).
    n_iter_ : int
        Passes over the data those batches amounted to.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        map="entmax15",
        alpha=None,
        kernel="temperature",
        temperature=None,
        sigma0="median",
        sigma_min=None,
        gamma=0.5,
        schedule="geometric",
        stage_batches=None,
        polish=False,
        reference=False,
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
        super().__init__(
            n_clusters,
            init=init,
            max_iter=max_iter,
            batch_size=batch_size,
            verbose=verbose,
            compute_labels=compute_labels,
            random_state=random_state,
            tol=tol,
            max_no_improvement=max_no_improvement,
            init_size=init_size,
            n_init=n_init,
            reassignment_ratio=reassignment_ratio,
            n_threads=n_threads,
        )
        self.map = map
        self.alpha = alpha
        self.kernel = kernel
        self.temperature = temperature
        self.sigma0 = sigma0
        self.sigma_min = sigma_min
        self.gamma = gamma
        self.schedule = schedule
        self.stage_batches = stage_batches
        self.polish = polish
        self.reference = reference

    def _annealing(self):
        cooling = cooling_of(self, ("median", "auto"))
        if self.stage_batches is not None:
            check_int("stage_batches", self.stage_batches, 1)
        for name in ("polish", "reference"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        return cooling

    def _fit(self, X, sample_weight):
        X = validate_data(self, X, dtype=_FLOATS, order="C", ensure_min_samples=1)
        k, init, n_init = self._check_params(X)
        cooling = self._annealing()
        w = check_sample_weight(sample_weight, X)
        r = _core.minibatch_anneal(
            X, k, init, n_init, self.max_iter, self.batch_size, float(self.tol),
            self.max_no_improvement, self.init_size, float(self.reassignment_ratio),
            seed_of(self.random_state), w, check_n_threads(self.n_threads), cooling,
            self.stage_batches, bool(self.polish), bool(self.reference),
        )
        self.cluster_centers_ = r["centers"]
        if self.compute_labels:
            self.labels_ = r["labels"]
        self.inertia_ = float(r["inertia"])
        self.n_steps_ = int(r["total_steps"]) + int(r["polish_iters"])
        self.n_iter_ = -(-self.n_steps_ * min(self.batch_size, X.shape[0]) // X.shape[0])
        self.sigma0_ = float(r["sigma0"])
        self.trace_ = r["stages"]
        self.temperature_ = float(self.trace_[-1]["sigma"])
        self.kmeans_ = reference_kmeans(self, r["reference"], r["init"], k)
        # A partial_fit after fit continues at the last temperature, with fresh weights.
        self._sigmas = [self.temperature_]
        self._stage = 0
        self._counts = np.zeros(k, dtype=X.dtype)
        self._n_since_last_reassign = 0
        self._n_features_out = k
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One annealed step on the batch ``X``.

        The first call initializes the centers on ``X`` and measures ``sigma0`` on it; every
        ``stage_batches`` calls (default 100) the temperature moves to the schedule's next
        stage and the running weights start afresh; after the last stage the steps stay at
        its temperature. After ``fit``, the steps run at ``temperature_`` with fresh running
        weights. ``polish`` and ``reference`` apply to ``fit`` only.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return super().partial_fit(X, y, sample_weight)

    def _partial_fit(self, X, sample_weight):
        fitted = hasattr(self, "cluster_centers_")
        cooling = self._annealing()
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
            self._sigmas = _core.stage_sigmas(X, self.cluster_centers_, cooling, threads)
            self.sigma0_ = float(self._sigmas[0])
            self._counts = np.zeros(k, dtype=X.dtype)
            self._n_since_last_reassign = 0
            self.n_steps_ = 0
            self._n_features_out = k
            self._stage = 0
        per_stage = self.stage_batches or PARTIAL_FIT_STAGE_BATCHES
        stage = min(self.n_steps_ // per_stage, len(self._sigmas) - 1)
        if stage != self._stage:
            # A new temperature: fresh running weights.
            self._counts = np.zeros_like(self._counts)
            self._n_since_last_reassign = 0
            self._stage = stage
        sigma = float(self._sigmas[stage])
        soft = {"map": cooling["map"], "alpha": cooling["alpha"], "kernel": cooling["kernel"], "sigma": sigma}
        centers = np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)
        counts = np.ascontiguousarray(self._counts, dtype=X.dtype)
        seed = int(self._rng.randint(0, np.iinfo(np.int32).max))
        r = _core.minibatch_step(
            X, w, centers, counts, self._n_since_last_reassign,
            float(check_float("reassignment_ratio", self.reassignment_ratio, nonnegative=True)),
            seed, bool(self.compute_labels), threads, soft,
        )
        self.cluster_centers_ = r["centers"]
        self._counts = r["counts"]
        self._n_since_last_reassign = int(r["since_reassign"])
        self.n_steps_ += 1
        self.temperature_ = sigma
        self.batch_loss_ = float(r["loss"])
        if self.compute_labels:
            self.labels_ = r["labels"]
            self.inertia_ = float(r["inertia_after"])
        return self
