"""kmrbf.RBFKMeans: the annealing lands on K-Means, with its record and conventions."""

import pickle

import numpy as np
import pytest
import reference as ref
from conftest import far_blobs, load
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import kmrbf


@pytest.mark.parametrize("name", ["iris", "digits", "blobs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("map", ["softmax", "entmax15", "sparsemax"])
def test_annealing_lands_on_the_kmeans_fixed_point(name, dtype, map):
    X = load(name).astype(dtype)
    k = 6
    c0 = X[np.linspace(0, len(X) - 1, k).astype(int)]
    m = kmrbf.RBFKMeans(k, map=map, init=c0).fit(X)
    km = kmrbf.KMeans(k, init=c0, n_init=1, max_iter=10_000, tol=0.0).fit(X)
    np.testing.assert_array_equal(m.labels_, km.labels_)
    np.testing.assert_array_equal(m.cluster_centers_, km.cluster_centers_)
    last = m.trace_[-1]
    assert last["discrepancy"] == 0.0 and last["ari"] == 1.0
    np.testing.assert_array_equal(m.kmeans_.cluster_centers_, km.cluster_centers_)
    assert m.kmeans_.inertia_ == pytest.approx(km.inertia_, rel=1e-12)
    assert m.cluster_centers_.dtype == dtype
    for s in m.trace_:
        assert 0 <= s["L"] - s["J"] <= s["bound"] * (1 + 1e-6) + 1e-9 * s["J"]
        assert -s["bound"] * (1 + 1e-6) - 1e-9 * s["J"] <= s["F"] - s["J"] <= 1e-9 * s["J"]


def test_fixed_temperature_is_a_soft_lloyd_fixed_point():
    X = load("iris")
    c0 = X[[0, 50, 100]]
    T = 0.5
    m = kmrbf.RBFKMeans(3, map="softmax", temperature=T, init=c0, reference=False).fit(X)
    assert m.temperature_ == T and len(m.trace_) == 1 and m.kmeans_ is None
    _, _, _, r = ref.objectives(X, m.cluster_centers_, T, "softmax")
    means = (r.T @ X) / r.sum(axis=0)[:, None]
    np.testing.assert_allclose(m.cluster_centers_, means, atol=1e-8)
    p = m.predict_proba(X)
    np.testing.assert_allclose(p, r, atol=1e-10)
    _, _, F, _ = ref.objectives(X, m.cluster_centers_, T, "softmax")
    assert m.score(X) == pytest.approx(-F, rel=1e-10)


def test_float32_far_from_the_origin():
    X = far_blobs(offset=1000.0)
    c0 = X[[0, 700, 1400, 2100]]
    m = kmrbf.RBFKMeans(4, init=c0.astype(np.float32)).fit(X.astype(np.float32))
    assert m.trace_[-1]["discrepancy"] == 0.0 and m.trace_[-1]["ari"] == 1.0
    p = m.predict_proba(X.astype(np.float32))
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_conventions():
    X = load("iris")
    m = kmrbf.RBFKMeans(3, random_state=0, polish=True).fit(X)
    back = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(back.predict(X), m.predict(X))
    c = clone(m).set_params(map="sparsemax")
    assert c.fit(X).cluster_centers_.shape == (3, 4)
    labels = make_pipeline(StandardScaler(), kmrbf.RBFKMeans(3, random_state=0)).fit_predict(X)
    assert set(labels) == {0, 1, 2}
    assert m.transform(X).shape == (150, 3)
    with pytest.raises(NotFittedError):
        kmrbf.RBFKMeans(3).predict_proba(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"temperature": 0.0}, "temperature must be > 0"),
        ({"temperature": -1.0}, "temperature must be > 0"),
        ({"map": "gumbel"}, "map must be one of"),
        ({"map": "softmax", "alpha": 1.5}, "alpha is only used by map='entmax'"),
        ({"map": "entmax"}, "alpha must be a float"),
        ({"gamma": 1.5}, "gamma must lie in"),
        ({"sigma0": "hot"}, "sigma0 must be one of"),
        ({"sigma0": 1.0, "sigma_min": 2.0}, "sigma_min"),
        ({"step": "newton"}, "step must be one of"),
    ],
)
def test_bad_parameters_raise_and_change_nothing(params, match):
    X = load("iris")
    m = kmrbf.RBFKMeans(3, random_state=0).fit(X)
    centers = m.cluster_centers_.copy()
    m.set_params(**params)
    with pytest.raises((ValueError, TypeError), match=match):
        m.fit(X)
    np.testing.assert_array_equal(m.cluster_centers_, centers)


def test_bad_data():
    X = load("iris")
    m = kmrbf.RBFKMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but RBFKMeans is expecting 4"):
        m.predict_proba(X[:, :2])
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        kmrbf.RBFKMeans(3).fit(X[:2])
    Xn = X.copy()
    Xn[4, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        kmrbf.RBFKMeans(3).fit(Xn)


def test_same_random_state_same_start_as_kmeans():
    X = load("digits")
    km = kmrbf.KMeans(10, random_state=4, tol=0.0, max_iter=10_000).fit(X)
    m = kmrbf.RBFKMeans(10, random_state=4).fit(X)
    np.testing.assert_array_equal(m.kmeans_.cluster_centers_, km.cluster_centers_)
    np.testing.assert_array_equal(m.cluster_centers_, km.cluster_centers_)
