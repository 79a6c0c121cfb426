"""kmrbf.KMeans against scikit-learn's KMeans, and its scikit-learn conventions."""

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import DATASETS, far_blobs, load
from sklearn.base import clone
from sklearn.cluster import KMeans as SkKMeans
from sklearn.cluster import kmeans_plusplus
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import kmrbf


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_result_as_scikit_learn_from_the_same_start(name, dtype, weighted):
    X = load(name).astype(dtype)
    k = 5
    w = np.random.RandomState(1).uniform(0.5, 2.0, len(X)).astype(dtype) if weighted else None
    c0, _ = kmeans_plusplus(X, k, random_state=0)
    ours = kmrbf.KMeans(k, init=c0, n_init=1).fit(X, sample_weight=w)
    ref = SkKMeans(k, init=c0, n_init=1).fit(X, sample_weight=w)
    scale = np.abs(X).max()
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert np.abs(ours.cluster_centers_ - ref.cluster_centers_).max() <= 1e-6 * scale
    assert ours.n_iter_ == ref.n_iter_
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-5)
    assert ours.cluster_centers_.dtype == dtype
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    assert ours.score(X, sample_weight=w) == pytest.approx(ref.score(X, sample_weight=w), rel=1e-5)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-4, atol=1e-6 * scale)


def test_float32_far_from_the_origin_matches_float64():
    # |x|^2 - 2 x.c + |c|^2 cancels catastrophically at 1e3 in f32 without centering.
    X = far_blobs(offset=1000.0)
    c0 = X[[0, 700, 1400, 2100]]
    a = kmrbf.KMeans(4, init=c0, n_init=1).fit(X)
    b = kmrbf.KMeans(4, init=c0.astype(np.float32), n_init=1).fit(X.astype(np.float32))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert np.abs(a.cluster_centers_ - b.cluster_centers_).max() < 1e-3


def test_integer_weights_equal_repeated_rows():
    X = load("wine")
    w = np.random.RandomState(0).randint(0, 4, len(X))
    c0 = X[[1, 60, 130]]
    a = kmrbf.KMeans(3, init=c0, n_init=1).fit(X, sample_weight=w)
    b = kmrbf.KMeans(3, init=c0, n_init=1).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-12)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-12)


def test_same_bits_for_any_thread_count():
    X = load("digits").astype(np.float32)
    fits = [kmrbf.KMeans(10, random_state=3, n_threads=t).fit(X) for t in (1, 2, 3)]
    for f in fits[1:]:
        np.testing.assert_array_equal(f.cluster_centers_, fits[0].cluster_centers_)
        np.testing.assert_array_equal(f.labels_, fits[0].labels_)
        assert f.inertia_ == fits[0].inertia_


def test_copy_x_false_centers_in_place_and_restores():
    X = load("iris")
    keep = X.copy()
    a = kmrbf.KMeans(3, random_state=0, copy_x=False).fit(X)
    b = kmrbf.KMeans(3, random_state=0).fit(keep)
    np.testing.assert_allclose(X, keep, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-12)
    ro = keep.copy()
    ro.setflags(write=False)
    c = kmrbf.KMeans(3, random_state=0, copy_x=False).fit(ro)  # read-only: falls back to a copy
    np.testing.assert_array_equal(c.labels_, b.labels_)


def test_random_state_and_restarts():
    X = load("blobs")
    a = kmrbf.KMeans(6, random_state=7).fit(X)
    b = kmrbf.KMeans(6, random_state=7).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    r1 = kmrbf.KMeans(6, init="random", n_init=1, random_state=1).fit(X)
    r10 = kmrbf.KMeans(6, init="random", n_init=10, random_state=1).fit(X)
    assert r10.inertia_ <= r1.inertia_
    calls = []

    def first_rows(X, k, rng):
        calls.append(k)
        return X[rng.choice(len(X), k, replace=False)]

    c = kmrbf.KMeans(6, init=first_rows, n_init=3, random_state=0).fit(X)
    assert calls == [6, 6, 6] and c.cluster_centers_.shape == (6, 8)
    h = kmrbf.KMeans(6, random_state=7, algorithm="elkan").fit(X)
    np.testing.assert_array_equal(h.labels_, a.labels_)


def test_yinyang_gives_lloyds_bits():
    X = make_blobs(4000, 16, centers=60, cluster_std=3.0, random_state=5)[0].astype(np.float32)
    a = kmrbf.KMeans(150, random_state=3, algorithm="lloyd").fit(X)
    y = kmrbf.KMeans(150, random_state=3, algorithm="yinyang").fit(X)
    np.testing.assert_array_equal(y.labels_, a.labels_)
    np.testing.assert_array_equal(y.cluster_centers_, a.cluster_centers_)
    assert y.n_iter_ == a.n_iter_ > 2


def test_pickle_clone_set_params():
    X = load("iris")
    km = kmrbf.KMeans(3, random_state=0, n_threads=1).fit(X)
    back = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(back.cluster_centers_, km.cluster_centers_)
    np.testing.assert_array_equal(back.predict(X), km.predict(X))
    c = clone(km)
    assert c.get_params() == km.get_params() and not hasattr(c, "cluster_centers_")
    c.set_params(n_clusters=4, tol=1e-6)
    assert c.fit(X).cluster_centers_.shape == (4, 4)


def test_pipeline_and_grid_search():
    X = load("iris")
    pipe = make_pipeline(StandardScaler(), kmrbf.KMeans(3, random_state=0))
    labels = pipe.fit_predict(X)
    assert labels.shape == (150,) and set(labels) == {0, 1, 2}
    dist = make_pipeline(StandardScaler(), kmrbf.KMeans(3, random_state=0)).fit_transform(X)
    assert dist.shape == (150, 3)
    gs = GridSearchCV(kmrbf.KMeans(random_state=0), {"n_clusters": [2, 3, 4]}, cv=3).fit(X)
    # score is -inertia: more clusters fit held-out rows better.
    assert gs.best_params_ == {"n_clusters": 4}


def test_pandas_feature_names():
    df = pd.DataFrame(load("iris"), columns=["sl", "sw", "pl", "pw"])
    km = kmrbf.KMeans(3, random_state=0).fit(df)
    assert list(km.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    assert km.n_features_in_ == 4
    assert list(km.get_feature_names_out()) == ["kmeans0", "kmeans1", "kmeans2"]


def test_not_fitted():
    with pytest.raises(NotFittedError):
        kmrbf.KMeans(3).predict(np.zeros((4, 2)))


@pytest.mark.parametrize(
    "make, params, match",
    [
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X), {}, "NaN"),
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.inf, X), {}, "infinity"),
        (lambda X: X[:, 0], {}, "2D array"),
        (lambda X: X[:2], {}, "n_samples=2 should be >= n_clusters=3"),
        (lambda X: X[:2, :2], {}, "n_samples=2 should be >= n_clusters=3"),
        (lambda X: X, {"n_clusters": 0}, "n_clusters must be >= 1"),
        (lambda X: X, {"tol": -1.0}, "tol must be >= 0"),
        (lambda X: X, {"init": "kmeans++"}, "init must be one of"),
        (lambda X: X, {"init": np.zeros((2, 4))}, "does not match"),
        (lambda X: X, {"algorithm": "full"}, "algorithm must be one of"),
        (lambda X: X, {"n_threads": 0}, "n_threads must be >= 1"),
    ],
)
def test_bad_input_raises_and_changes_nothing(make, params, match):
    X = load("iris")
    km = kmrbf.KMeans(3, random_state=0).fit(X)
    before = {k: v for k, v in vars(km).items()}
    km.set_params(**params)
    with pytest.raises(ValueError, match=match):
        km.fit(make(X))
    for key, v in before.items():
        if key in params:
            continue
        assert np.array_equal(getattr(km, key), v) if isinstance(v, np.ndarray) else getattr(km, key) == v


def test_predict_with_other_feature_count_raises():
    km = kmrbf.KMeans(3, random_state=0).fit(load("iris"))
    with pytest.raises(ValueError, match="X has 3 features, but KMeans is expecting 4"):
        km.predict(np.zeros((5, 3)))


def test_sample_weight_errors():
    X = load("iris")
    with pytest.raises(ValueError, match="expected"):
        kmrbf.KMeans(3).fit(X, sample_weight=np.ones(10))
    with pytest.raises(ValueError, match="negative"):
        kmrbf.KMeans(3).fit(X, sample_weight=-np.ones(150))
