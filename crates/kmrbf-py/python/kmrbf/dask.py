"""kmrbf.dask: K-Means and the annealed RBF model on dask arrays, on one machine or a cluster
(``pip install "kmrbf[dask]"``).

Every block of rows runs kmrbf's assignment pass where it lives (a Dask worker) and returns
sufficient statistics (per-center sums and masses in float64, the block's inertia, how many
labels changed, the rows farthest from their centers); the statistics of all blocks are
added in a fixed binary tree, and the update (the in-memory fit's M-step, empty clusters
included) runs on the client. With the blocks fixed, the result is bitwise the same for any
number of workers; across block sizes it agrees with the in-memory fit to rounding (the sums
are added in another order). The labels stay on the workers between iterations.
``RBFKMeans`` anneals the same way: every step is one pass whose blocks return their soft-pass
totals (objective terms, responsibility sums), added in the same tree; the step, the schedule
and the stage records run on the client.

``import kmrbf`` never imports dask; this module does.
"""

import time

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
    # Accumulated in float64 without a float64 copy of the block.
    return np.asarray(block).sum(axis=0, dtype=np.float64)


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


def _prepare_block(block, weight, mean, offset):
    """The block moved by the column means, checked, with its row norms and the column sums of
    its squares: made once per fit and kept on the worker for every Lloyd and soft pass."""
    block = _aligned(block)
    return _core.prepare_block_rows(block, _aligned(weight, block.dtype), _aligned(mean), offset)


def _third(r):
    return r[2]


def _lloyd_pass(prepared, weight, offset, prev, centers, extras):
    rows, norms, _ = prepared
    rows = _aligned(rows)
    return _core.prepared_shard_pass(rows, _aligned(norms), _aligned(weight, rows.dtype),
                                     _aligned(centers), offset, _aligned(prev), extras)


def _soft_pass(prepared, weight, offset, centers, reference, map, alpha, temperature, sums):
    rows, norms, _ = prepared
    rows = _aligned(rows)
    return _core.prepared_soft_shard_pass(rows, _aligned(norms), _aligned(weight, rows.dtype),
                                          _aligned(centers), _aligned(reference), offset, map,
                                          alpha, temperature, sums[0], sums[1])


def _soft_merge(a, b):
    """Two blocks' ``(totals, table)`` added (``a`` first)."""
    (ta, ca), (tb, cb) = a, b
    table = None if ca is None else ca + cb
    return _core.soft_merge(_aligned_stats(ta), _aligned_stats(tb)), table


def _gap_pass(block, weight, offset, prev, centers, mean, extras):
    block = _aligned(block)
    return _core.gap_shard_pass(block, _aligned(weight, block.dtype), _aligned(centers),
                                _aligned(mean), offset, _aligned(prev), extras)


def _gap_merge(a, b):
    m = _merge(a, b)
    m["gap"] = min(a["gap"], b["gap"])
    m["ties"] = a["ties"] + b["ties"]
    return m


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


def _prepare(X):
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


class _Blocks:
    """X's blocks on the cluster with what every fit starts from: the offsets and weights of
    the blocks, the column means (the shift the passes center by, checked finite) and the mean
    column variance of the centered data (the tolerance's scale)."""

    def __init__(self, X, sample_weight, k):
        self.X = X
        self.n, self.d = X.shape
        self.k = k
        if self.n < k:
            raise ValueError(f"n_samples={self.n} should be >= n_clusters={k}.")
        self.blocks = list(X.to_delayed().ravel())
        sizes = X.chunks[0]
        self.offsets = [int(o) for o in np.concatenate([[0], np.cumsum(sizes)[:-1]])]
        if sample_weight is None:
            self.weights = [None] * len(self.blocks)
        else:
            w = da.asarray(sample_weight)
            if w.shape != (self.n,):
                raise ValueError(f"sample_weight.shape == {w.shape}, expected {(self.n,)}!")
            self.weights = list(w.rechunk((sizes,)).astype(X.dtype).to_delayed().ravel())
        sums = dask.compute(_tree([delayed(_column_sums)(b) for b in self.blocks], _add))[0]
        self.mean = sums / self.n
        if not np.isfinite(self.mean).all():
            found = dask.compute(*[delayed(_first_nonfinite)(b, o)
                                   for b, o in zip(self.blocks, self.offsets)])
            row, col, value = min(f for f in found if f is not None)
            raise ValueError(f"X: non-finite value {value} at row {row}, column {col}")
        # Every block moved by the means once, kept on its worker for the Lloyd and soft passes
        # (a copy of the data for the fit's duration, as kmrbf.KMeans centers a copy): a pass
        # is then the kernel and the sums only.
        self.prepared = list(dask.persist(*[
            delayed(_prepare_block)(b, w, self.mean, o)
            for b, w, o in zip(self.blocks, self.weights, self.offsets)]))
        sq = dask.compute(_tree([delayed(_third)(p) for p in self.prepared], _add))[0]
        self.scale = float(sq.sum() / (self.n * self.d))

    def initial_centers(self, init, random_state, init_sample_size):
        """``init`` ('k-means++' on a uniform sample, or an array) in working coordinates."""
        k, n, d = self.k, self.n, self.d
        seed = seed_of(random_state)
        if isinstance(init, str):
            if init != "k-means++":
                raise ValueError(f"init must be 'k-means++' or an array, got {init!r}")
            m = min(n, check_int("init_sample_size", init_sample_size, k))
            idx = np.sort(np.random.RandomState(seed % 2**32).choice(n, m, replace=False))
            sample = np.ascontiguousarray(self.X[idx].compute())
            c0 = _core.initial_centers(sample, k, "k-means++", seed, None, None)
        else:
            c0 = np.asarray(init)
            if c0.shape != (k, d):
                raise ValueError(f"init: expected centers of shape {(k, d)}, got {c0.shape}")
        return (np.asarray(c0, dtype=np.float64) - self.mean).astype(self.X.dtype)

    def user(self, centers):
        """Working centers back in X's coordinates and dtype."""
        return (centers.astype(np.float64) + self.mean).astype(self.X.dtype)

    def passes(self, f, args, labels, merge, blocks=None):
        """``f(block, weight, offset, labels, *args)`` on every block (of ``blocks``: X's, or
        the prepared ones); returns the first results merged by ``merge`` in the fixed tree and
        the blocks' new labels (the second results, persisted on the workers)."""
        blocks = self.blocks if blocks is None else blocks
        res = [delayed(f)(b, w, o, lab, *args)
               for b, w, o, lab in zip(blocks, self.weights, self.offsets, labels)]
        res = dask.persist(*res)
        stats = dask.compute(_tree([delayed(_first)(r) for r in res], merge))[0]
        return stats, [delayed(_second)(r) for r in res]

    def merged(self, f, args, merge):
        """``f(prepared block, weight, offset, *args)`` on every block, merged in the fixed
        tree."""
        res = [delayed(f)(b, w, o, *args)
               for b, w, o in zip(self.prepared, self.weights, self.offsets)]
        return dask.compute(_tree(res, merge))[0]

    def lloyd(self, centers, max_iter, tol_abs):
        """Lloyd from ``centers`` (working) with scikit-learn's stopping rules and the final
        assignment pass: ``(centers, inertia, n_iter)``."""
        labels = [None] * len(self.blocks)

        def one_pass(centers, labels, extras):
            return self.passes(_lloyd_pass, (centers, extras), labels, _merge, self.prepared)

        n_iter = 0
        for it in range(max_iter):
            n_iter = it + 1
            stats, new = one_pass(centers, labels, False)
            if (stats["weight"] == 0).any():
                # Empty clusters take the farthest rows: the same labels again, with them
                # (counted against the same previous labels, so the change count stays).
                stats, new = one_pass(centers, labels, True)
            labels = new
            centers, shift, _ = _core.shard_update(_aligned_stats(stats), centers)
            if it > 0 and stats["changed"] == 0:
                break
            if shift <= tol_abs:
                break
        final, _ = one_pass(centers, labels, True)
        return centers, float(final["inertia"]), n_iter


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
        X = _prepare(X)
        check_worker_versions()
        k = check_int("n_clusters", self.n_clusters, 1)
        max_iter = check_int("max_iter", self.max_iter, 1)
        tol = check_float("tol", self.tol, nonnegative=True)
        p = _Blocks(X, sample_weight, k)
        centers = p.initial_centers(self.init, self.random_state, self.init_sample_size)
        centers, inertia, n_iter = p.lloyd(centers, max_iter, tol * p.scale)
        self.cluster_centers_ = p.user(centers)
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.n_features_in_ = p.d
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
        return _assign(self, X)


class RBFKMeans(ClusterMixin, BaseEstimator):
    """The RBF model of K-Means annealed to its zero-temperature limit, on a dask array.

    The parameters and attributes of :class:`kmrbf.RBFKMeans` (see there), with these
    differences: ``sigma0`` is 'auto' or a float ('median' and 'critical' need the data in
    memory); ``init`` is 'k-means++' (on a uniform sample of ``init_sample_size`` rows) or an
    array; there is no ``copy_x`` / ``n_threads`` (each worker runs its own threads). Every
    step is one pass over the blocks, added in a fixed tree: the result is bitwise the same
    for any number of workers and agrees with the in-memory :class:`kmrbf.RBFKMeans` from the
    same initial centers to rounding (the sums are added in another order).

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features), X's dtype
    labels_ : dask array (n_samples,), int32 (computed lazily)
    inertia_ : float
    n_iter_ : int
        Steps over all temperatures.
    sigma0_ : float
    temperature_ : float
    trace_ : list of dict
        One per temperature, the keys of :class:`kmrbf.RBFKMeans`'s ``trace_``.
    kmeans_ : KMeans or None
        The reference K-Means run from the same initial centers (``reference=True``).
    n_features_in_ : int
    """

    def __init__(self, n_clusters=8, *, map="entmax15", alpha=None, kernel="temperature",
                 temperature=None, sigma0="auto", sigma_min=None, gamma=0.5, schedule="geometric",
                 step="soft-lloyd", lr=1.0, gradient="stopgrad", init="k-means++", tol=1e-14,
                 stage_cap=1000, polish=False, reference=True, warm_start=True, random_state=None,
                 init_sample_size=100_000):
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
        self.init_sample_size = init_sample_size

    def _settings(self):
        from ._rbf import RBFKMeans as InMemory

        params = {name: getattr(self, name) for name in self.get_params() if name != "init_sample_size"}
        params.pop("init")
        settings = InMemory(**params)._settings()
        if settings["sigmas"] is None and isinstance(settings["sigma0"], str) \
                and settings["sigma0"] != "auto":
            raise ValueError(
                f"sigma0={self.sigma0!r} needs the data in memory (kmrbf.RBFKMeans); "
                "kmrbf.dask.RBFKMeans takes 'auto' or a float"
            )
        return settings

    def fit(self, X, y=None, sample_weight=None):
        """Anneal on the dask array X (blocks of whole rows).

        Parameters
        ----------
        X : dask array or array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : dask array or array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        X = _prepare(X)
        check_worker_versions()
        k = check_int("n_clusters", self.n_clusters, 1)
        settings = self._settings()
        settings["seed"] = seed_of(self.random_state)
        p = _Blocks(X, sample_weight, k)
        driver = _core.SoftDriver(settings, k, p.d, X.dtype.name)
        c0 = p.initial_centers(self.init, self.random_state, self.init_sample_size)
        if settings["sigmas"] is not None:
            sigma0 = settings["sigmas"][0]
        elif isinstance(settings["sigma0"], str):
            sigma0 = driver.auto_sigma0(self._lloyd_min_gap(p, c0) if k >= 2 else 0.0, p.scale)
        else:
            sigma0 = settings["sigma0"]
        sigmas = driver.sigmas(sigma0)
        tol_abs = settings["tol"] * p.scale

        ref = None
        if settings["reference"]:
            ref, ref_inertia, ref_iter = p.lloyd(c0, 10_000, 0.0)
        centers = c0
        trace = []
        total_steps = 0
        for si, sigma in enumerate(sigmas):
            temp = driver.effective(sigma)
            if not settings["warm_start"]:
                centers = c0
            driver.reset()
            steps, last_move = 0, np.inf
            t0 = time.perf_counter()
            while steps < settings["stage_cap"]:
                sums = driver.request(temp)
                totals, _ = p.merged(_soft_pass, (centers, None, settings["map"],
                                                  settings["alpha"], temp, sums), _soft_merge)
                lloyd = None
                if driver.wants_lloyd(totals, centers, temp):
                    lloyd, _ = p.passes(_lloyd_pass, (centers, False), [None] * len(p.blocks),
                                        _merge, p.prepared)
                    lloyd = _aligned_stats(lloyd)
                centers, last_move = driver.update(centers, _aligned_stats(totals), lloyd, temp)
                steps += 1
                if last_move <= tol_abs:
                    break
            seconds = time.perf_counter() - t0
            total_steps += steps
            totals, table = p.merged(_soft_pass, (centers, ref, settings["map"],
                                                  settings["alpha"], temp, (False, False)),
                                     _soft_merge)
            rec = {"stage": si, "sigma": float(sigma), "temperature": float(temp), "steps": steps,
                   "seconds": seconds}
            rec.update(driver.objectives(_aligned_stats(totals), temp))
            rec["last_move_sq"] = float(last_move)
            if ref is None:
                rec.update(discrepancy=None, ari=None, nmi=None)
            else:
                ari, nmi = _core.contingency_scores(_aligned(table))
                rec.update(discrepancy=_discrepancy(centers, ref), ari=ari, nmi=nmi)
            trace.append(rec)
        if settings["polish"]:
            centers, _, _ = p.lloyd(centers, 10_000, 0.0)
        final, _ = p.passes(_lloyd_pass, (centers, True), [None] * len(p.blocks), _merge,
                            p.prepared)
        self.cluster_centers_ = p.user(centers)
        self.inertia_ = float(final["inertia"])
        self.n_iter_ = total_steps
        self.sigma0_ = float(sigma0)
        self.trace_ = trace
        self.temperature_ = float(trace[-1]["sigma"])
        self.n_features_in_ = p.d
        self.kmeans_ = None
        if ref is not None:
            km = KMeans(n_clusters=k, init=p.user(c0), max_iter=10_000, tol=0.0)
            km.cluster_centers_ = p.user(ref)
            km.inertia_ = ref_inertia
            km.n_iter_ = ref_iter
            km.n_features_in_ = p.d
            km.labels_ = km.predict(X)
            self.kmeans_ = km
        self.labels_ = self.predict(X)
        return self

    @staticmethod
    def _lloyd_min_gap(p, c0):
        """The smallest positive two-nearest gap along Lloyd's path from ``c0`` (every row,
        every iteration; the top-2 labels), as ``kmrbf.RBFKMeans``'s ``sigma0='auto'``."""
        labels = [None] * len(p.blocks)
        centers, gmin = c0, np.inf
        for _ in range(10_000):
            stats, new = p.passes(_gap_pass, (centers, p.mean, False), labels, _gap_merge)
            gmin = min(gmin, stats["gap"])
            if stats["changed"] == 0:
                break
            if (stats["weight"] == 0).any():
                # Empty clusters take the farthest rows: the same labels again, with them.
                stats, new = p.passes(_gap_pass, (centers, p.mean, True), labels, _gap_merge)
            labels = new
            centers, _, _ = _core.shard_update(_aligned_stats(stats), centers)
        return float(gmin)

    def predict(self, X):
        """Nearest center of each row, as a dask array (computed lazily, block by block)."""
        return _assign(self, X)

    def predict_proba(self, X):
        """Responsibilities of each row at ``temperature_``, as a dask array (lazily)."""
        X, centers = _fitted_blocks(self, X)
        k = centers.shape[0]
        alpha = None if self.alpha is None else float(self.alpha)
        t, m, kern = self.temperature_, self.map, self.kernel

        def proba(b):
            return _core.responsibilities(_aligned(b), _aligned(centers), t, m, alpha, kern, 1)

        return X.map_blocks(proba, chunks=(X.chunks[0], (k,)), dtype=X.dtype)


def _fitted_blocks(est, X):
    """X prepared for a fitted estimator (versions and features checked), and its centers in
    X's dtype."""
    check_is_fitted(est)
    X = _prepare(X)
    check_worker_versions()
    if X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )
    return X, np.ascontiguousarray(est.cluster_centers_, dtype=X.dtype)


def _assign(est, X):
    """The nearest of ``est``'s centers for each row of X, lazily, block by block."""
    X, centers = _fitted_blocks(est, X)

    def assign(b):
        return _core.assign(_aligned(b), _aligned(centers), 1)

    return X.map_blocks(assign, drop_axis=1, dtype=np.int32)


def _discrepancy(a, b):
    """The largest matched center distance (kmrbf.metrics' Hungarian matching), float64."""
    return _core.center_discrepancy(np.ascontiguousarray(a, dtype=np.float64),
                                    np.ascontiguousarray(b, dtype=np.float64))
