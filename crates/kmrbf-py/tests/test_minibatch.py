"""kmrbf.MiniBatchKMeans against scikit-learn's MiniBatchKMeans: the same updates from the same
centers and batches, the same quality from its own batches, determinism, and bad input."""

import numpy as np
import pytest
from sklearn.cluster import MiniBatchKMeans as SkMiniBatchKMeans
from sklearn.datasets import make_blobs

from kmrbf import MiniBatchKMeans


def blobs(n=6000, d=8, k=12, seed=0, dtype=np.float64):
    X, y = make_blobs(n, d, centers=k, random_state=seed)
    return X.astype(dtype), y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_partial_fit_equals_scikit_learn_on_the_same_batches(dtype, weighted):
    X, _ = blobs(dtype=dtype)
    init = X[:12].copy()
    rng = np.random.default_rng(1)
    w = rng.uniform(0.5, 2.0, len(X)).astype(dtype) if weighted else None
    ours = MiniBatchKMeans(12, init=init, reassignment_ratio=0.0)
    theirs = SkMiniBatchKMeans(12, init=init, n_init=1, reassignment_ratio=0.0)
    for step in range(40):
        idx = rng.integers(0, len(X), 300)
        sw = None if w is None else w[idx]
        ours.partial_fit(X[idx], sample_weight=sw)
        theirs.partial_fit(X[idx], sample_weight=sw)
        # The same arithmetic in the same order: equal centers and learning rates.
        np.testing.assert_array_equal(ours.cluster_centers_, theirs.cluster_centers_, err_msg=f"step {step}")
        np.testing.assert_array_equal(ours._counts, theirs._counts)
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-5)
    assert ours.n_steps_ == theirs.n_steps_ == 40
    assert ours.cluster_centers_.dtype == dtype


def test_partial_fit_reassigns_light_centers_like_scikit_learn():
    X, _ = blobs(n=2000, d=4, k=5)
    # One center far from every row gets no rows: both move it to a row of the batch and
    # give it the smallest weight among the others.
    init = X[:5].copy()
    init[4] = 1e4
    batch = X[:500]
    ours = MiniBatchKMeans(5, init=init, random_state=0).partial_fit(batch)
    theirs = SkMiniBatchKMeans(5, init=init, n_init=1, random_state=0).partial_fit(batch)
    np.testing.assert_array_equal(ours._counts, theirs._counts)
    np.testing.assert_array_equal(ours.cluster_centers_[:4], theirs.cluster_centers_[:4])
    moved = ours.cluster_centers_[4]
    assert np.any(np.all(batch == moved, axis=1)), "the light center moved to a row of the batch"
    assert ours._counts[4] == ours._counts[:4].min()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_reaches_scikit_learns_quality(dtype):
    X, _ = blobs(n=20000, d=16, k=20, dtype=dtype)
    ours = [MiniBatchKMeans(20, random_state=s).fit(X) for s in range(8)]
    theirs = [SkMiniBatchKMeans(20, random_state=s).fit(X).inertia_ for s in range(8)]
    assert np.median([m.inertia_ for m in ours]) <= 1.02 * np.median(theirs)
    for m in ours:
        assert m.labels_.shape == (len(X),) and m.labels_.dtype == np.int32
        assert m.inertia_ == pytest.approx(-m.score(X), rel=1e-6)
        # The smoothed-inertia rule stops long before 100 passes.
        assert m.n_steps_ < 100 * len(X) // 1024
        assert m.n_iter_ == -(-(m.n_steps_ * 1024) // len(X))
        assert m.batch_inertia_.shape == (m.n_steps_,)


def test_same_bits_for_any_thread_count_and_seeded():
    X, _ = blobs(n=9000, dtype=np.float32)
    a = MiniBatchKMeans(12, random_state=3, n_threads=1).fit(X)
    b = MiniBatchKMeans(12, random_state=3, n_threads=2).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    c = MiniBatchKMeans(12, random_state=4).fit(X)
    assert not np.array_equal(a.cluster_centers_, c.cluster_centers_)


def test_tol_stops_on_small_center_moves():
    X, _ = blobs(n=20000)
    loose = MiniBatchKMeans(12, random_state=0, tol=1e-2, max_no_improvement=None).fit(X)
    off = MiniBatchKMeans(12, random_state=0, tol=0.0, max_no_improvement=None, max_iter=3).fit(X)
    assert loose.n_steps_ < off.n_steps_ == 3 * len(X) // 1024


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(reassignment_ratio=-1.0), "reassignment_ratio"),
        (dict(n_clusters=10_000), "n_samples"),
        (dict(init="bogus"), "init"),
        (dict(max_iter=0), "max_iter"),
        (dict(init_size=0), "init_size"),
        (dict(init=np.zeros((3, 8))), "shape"),
    ],
)
def test_bad_parameters_raise(params, match):
    X, _ = blobs(n=500)
    with pytest.raises(ValueError, match=match):
        MiniBatchKMeans(**{"n_clusters": 12, **params}).fit(X)


def test_bad_data_raise_and_change_nothing():
    X, _ = blobs(n=500)
    m = MiniBatchKMeans(12, random_state=0).fit(X)
    before = m.cluster_centers_.copy()
    bad = X[:100].copy()
    bad[7, 3] = np.nan
    with pytest.raises(ValueError, match="NaN|nan|finite"):
        m.partial_fit(bad)
    with pytest.raises(ValueError, match="features"):
        m.partial_fit(X[:100, :5])
    np.testing.assert_array_equal(m.cluster_centers_, before)
