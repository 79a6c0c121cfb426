"""``kmrbf.RBFKMeans``: K-Means as the zero-temperature limit of a normalized RBF layer."""

import numpy as np
from sklearn.utils.validation import validate_data

from . import _core
from ._base import CentersEstimator
from ._kmeans import KMeans
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
)

MAPS = ("softmax", "entmax15", "sparsemax", "entmax", "hard")
STEPS = ("soft-lloyd", "gd", "adam")
TRACE_KEYS = (
    "stage", "sigma", "temperature", "steps", "seconds", "J", "L", "F", "bound",
    "mean_support", "onehot_fraction", "last_move_sq", "discrepancy", "ari", "nmi",
)


def cooling_of(est, starts):
    """The temperature settings of ``est`` (an RBF estimator), checked: ``map``, ``alpha``,
    ``kernel``, ``sigma0`` (one of ``starts`` or a float), ``sigma_min``, ``sigmas`` (the
    single ``temperature``, or None), ``schedule``, ``gamma``."""
    check_choice("map", est.map, MAPS)
    if est.map == "entmax":
        alpha = check_float("alpha", est.alpha)
        if not 1 < alpha <= 2:
            raise ValueError(f"alpha must lie in (1, 2] for map='entmax', got {est.alpha!r}")
    elif est.alpha is not None:
        raise ValueError(f"alpha is only used by map='entmax'; got alpha={est.alpha!r} with map={est.map!r}")
    check_choice("kernel", est.kernel, ("temperature", "bandwidth"))
    temperature = check_float("temperature", est.temperature, positive=True, allow_none=True)
    if isinstance(est.sigma0, str):
        check_choice("sigma0", est.sigma0, starts)
        sigma0 = est.sigma0
    else:
        sigma0 = check_float("sigma0", est.sigma0, positive=True)
    sigma_min = check_float("sigma_min", est.sigma_min, positive=True, allow_none=True)
    gamma = check_float("gamma", est.gamma, open_unit=True)
    check_choice("schedule", est.schedule, ("geometric", "dkm"))
    return {
        "map": est.map,
        "alpha": None if est.alpha is None else float(est.alpha),
        "kernel": est.kernel,
        "sigma0": sigma0,
        "sigma_min": sigma_min,
        "sigmas": None if temperature is None else [temperature],
        "schedule": est.schedule,
        "gamma": gamma,
    }


def reference_kmeans(est, ref, c0, k):
    """The fitted :class:`KMeans` of an annealing's reference run (``ref``, or None) from
    ``c0``."""
    if ref is None:
        return None
    km = KMeans(n_clusters=k, init=c0, n_init=1, max_iter=10_000, tol=0.0, n_threads=est.n_threads)
    km.cluster_centers_ = ref["centers"]
    km.labels_ = ref["labels"]
    km.inertia_ = float(ref["inertia"])
    km.n_iter_ = int(ref["n_iter"])
    km.n_features_in_ = est.n_features_in_
    if hasattr(est, "feature_names_in_"):
        km.feature_names_in_ = est.feature_names_in_
    km._n_features_out = k
    return km


class SoftPredictions:
    """``predict_proba`` and ``score`` of an RBF estimator at its ``temperature_``."""

    def predict_proba(self, X):
        """Responsibilities of each row at ``temperature_``: rows on the simplex.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters), X's dtype
        """
        X = self._test_data(X)
        return _core.responsibilities(
            X, self._centers_as(X), self.temperature_, self.map,
            None if self.alpha is None else float(self.alpha), self.kernel,
            check_n_threads(self.n_threads),
        )

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the free energy F of X at ``temperature_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
            ``-F = -sum_i w_i (<r_i, D_i> - T H(r_i))``.
        """
        X = self._test_data(X)
        w = check_sample_weight(sample_weight, X)
        o = _core.objectives(
            X, self._centers_as(X), self.temperature_, self.map,
            None if self.alpha is None else float(self.alpha), self.kernel, None, w,
            check_n_threads(self.n_threads),
        )
        return -float(o["F"])


class RBFKMeans(SoftPredictions, CentersEstimator):
    """The RBF model of K-Means, annealed to its zero-temperature limit.

    Each center is an RBF unit; a row's responsibilities are ``map(-||x - c_k||^2 / T)``
    (softmax, the sparse entmax-1.5 or sparsemax). At each temperature the centers are moved
    by the closed-form soft-Lloyd step (gradient descent on the free energy F with step
    ``1 / (2 N_k)``), gradient descent or Adam; the temperature is lowered geometrically (or
    by the DKM schedule) from ``sigma0``. With ``sigma0='auto'`` every row is one-hot along
    Lloyd's path from the same init, so the annealing lands on the K-Means fixed point Lloyd
    reaches (the equivalence of arXiv 2603.04625); ``trace_`` records it stage by stage.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of RBF units (clusters).
    map : {'entmax15', 'softmax', 'sparsemax', 'entmax', 'hard'}, default='entmax15'
        Normalization of the units. 'entmax' needs ``alpha``.
    alpha : float or None, default=None
        The alpha of 'entmax', in (1, 2]; refused by the other maps.
    kernel : {'temperature', 'bandwidth'}, default='temperature'
        How sigma enters the logits: ``-D / sigma`` or ``-D / (2 sigma^2)``.
    temperature : float or None, default=None
        A single fixed temperature (sigma): steps run at it until the centers stop moving.
        None: anneal from ``sigma0`` to ``sigma_min``.
    sigma0 : {'auto', 'median', 'critical'} or float, default='auto'
        Start of the annealing. 'auto': the smallest two-nearest gap along Lloyd's path
        (scaled by the map) -- the start at which the annealing is Lloyd's trajectory.
        'median': a soft start at the median gap. 'critical': deterministic annealing's first
        critical temperature, ``2 lambda_max`` of the data covariance.
    sigma_min : float or None, default=None
        Last temperature; None: ``sigma0 * 1e-4``.
    gamma : float, default=0.5
        Ratio of the geometric schedule, in (0, 1).
    schedule : {'geometric', 'dkm'}, default='geometric'
        Temperature schedule.
    step : {'soft-lloyd', 'gd', 'adam'}, default='soft-lloyd'
        Center update at a fixed temperature.
    lr : float, default=1.0
        Learning rate of 'gd' (scaled by ``1 / (2 N_k)``) and 'adam'.
    gradient : {'stopgrad', 'full'}, default='stopgrad'
        Gradient of F (the EM / envelope gradient) or of L (through the map's Jacobian).
    init : {'k-means++', 'random'}, callable or array-like of shape (n_clusters, n_features), default='k-means++'
        Initial centers, as :class:`kmrbf.KMeans`.
    tol : float, default=1e-14
        A stage ends when ``max_k ||dc_k||^2 <= tol * mean_j var(X[:, j])``.
    stage_cap : int, default=1000
        Steps per temperature at most.
    polish : bool, default=False
        Finish with hard Lloyd iterations until the labels stop changing.
    reference : bool, default=True
        Also run K-Means from the same init (``kmeans_``) and record each stage's
        discrepancy and ARI to its fixed point in ``trace_``.
    warm_start : bool, default=True
        Start each temperature from the previous one's centers (False: from the init).
    random_state : int, RandomState instance or None, default=None
        Seed of the initialization.
    copy_x : bool, default=True
        As :class:`kmrbf.KMeans`.
    n_threads : int or None, default=None
        Threads; None uses one per core.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centers at the last temperature (after the polish), X's dtype.
    labels_ : ndarray of shape (n_samples,), dtype int32
        Nearest center of each training row.
    inertia_ : float
        K-Means distortion J of the final centers.
    n_iter_ : int
        Steps over all temperatures.
    temperature_ : float
        The last temperature (sigma); ``predict_proba`` and ``score`` use it.
    sigma0_ : float
        The first temperature used.
    trace_ : list of dict
        One dict per temperature with the keys ``stage``, ``sigma``, ``temperature`` (the
        effective divisor of -D), ``steps``, ``seconds``, ``J``, ``L``, ``F``, ``bound``
        (``T W Hmax``: ``0 <= L - J <= bound``, ``-bound <= F - J <= 0``),
        ``mean_support``, ``onehot_fraction``, ``last_move_sq``, and with ``reference``
        ``discrepancy`` (largest matched center distance to the K-Means fixed point),
        ``ari`` and ``nmi`` (labels against the K-Means labels); else those are None.
    kmeans_ : KMeans or None
        The fitted reference K-Means run from the same init (``reference=True``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from kmrbf import RBFKMeans
    >>> X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    >>> m = RBFKMeans(n_clusters=2, init=np.array([[0.0], [5.0]])).fit(X)
    >>> m.labels_
    array([0, 0, 0, 1, 1, 1], dtype=int32)
    >>> m.trace_[-1]["discrepancy"]
    0.0
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        map="entmax15",
        alpha=None,
        kernel="temperature",
        temperature=None,
        sigma0="auto",
        sigma_min=None,
        gamma=0.5,
        schedule="geometric",
        step="soft-lloyd",
        lr=1.0,
        gradient="stopgrad",
        init="k-means++",
        tol=1e-14,
        stage_cap=1000,
        polish=False,
        reference=True,
        warm_start=True,
        random_state=None,
        copy_x=True,
        n_threads=None,
    ):
        self.n_clusters = n_clusters
        self.map = map
        self.alpha = alpha
        self.kernel = kernel
        self.temperature = temperature
        self.sigma0 = sigma0
        self.sigma_min = sigma_min
        self.gamma = gamma
        self.schedule = schedule
        self.step = step
        self.lr = lr
        self.gradient = gradient
        self.init = init
        self.tol = tol
        self.stage_cap = stage_cap
        self.polish = polish
        self.reference = reference
        self.warm_start = warm_start
        self.random_state = random_state
        self.copy_x = copy_x
        self.n_threads = n_threads

    def _settings(self):
        cooling = cooling_of(self, ("auto", "median", "critical"))
        check_choice("step", self.step, STEPS)
        lr = check_float("lr", self.lr, positive=True)
        check_choice("gradient", self.gradient, ("stopgrad", "full"))
        tol = check_float("tol", self.tol, nonnegative=True)
        stage_cap = check_int("stage_cap", self.stage_cap, 1)
        for name in ("polish", "reference", "warm_start", "copy_x"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        check_n_threads(self.n_threads)
        return {
            **cooling,
            "step": self.step,
            "lr": lr,
            "gradient": self.gradient,
            "warm_start": bool(self.warm_start),
            "tol": tol,
            "stage_cap": stage_cap,
            "polish": bool(self.polish),
            "reference": bool(self.reference),
            "seed": 0,
        }

    def _initial_centers(self, X, k, w, seed, threads):
        init = self.init
        if isinstance(init, str):
            check_choice("init", init, ("k-means++", "random"))
            return _core.initial_centers(X, k, init, seed, w, threads)
        if callable(init):
            init = init(X, k, np.random.RandomState(seed % (2**32)))
        return check_centers(init, X, k)

    def _fit(self, X, sample_weight):
        X = validate_data(self, X, dtype=_FLOATS, order="C")
        k = check_n_clusters(self.n_clusters, X)
        settings = self._settings()
        w = check_sample_weight(sample_weight, X)
        seed = seed_of(self.random_state)
        settings["seed"] = seed
        threads = check_n_threads(self.n_threads)
        c0 = self._initial_centers(X, k, w, seed, threads)
        copy_x = bool(self.copy_x) or not X.flags.writeable
        r = _core.anneal(X, c0, w, settings, threads, copy_x)
        self.cluster_centers_ = r["centers"]
        self.labels_ = r["labels"]
        self.inertia_ = float(r["inertia"])
        self.n_iter_ = int(r["total_steps"])
        self.sigma0_ = float(r["sigma0"])
        self.trace_ = r["stages"]
        self.temperature_ = float(self.trace_[-1]["sigma"])
        self.kmeans_ = reference_kmeans(self, r["reference"], c0, k)
        self._n_features_out = k
        return self
