"""Row maps, responsibilities and objectives against naive numpy and finite differences."""

import numpy as np
import pytest
import reference as ref

import kmrbf


def logits(n=300, k=17, scale=3.0, seed=0, dtype=np.float64):
    return (np.random.RandomState(seed).standard_normal((n, k)) * scale).astype(dtype)


@pytest.mark.parametrize("name", ["softmax", "entmax15", "sparsemax"])
@pytest.mark.parametrize("scale", [0.01, 1.0, 30.0, 1e6])
def test_maps_match_sort_based_references(name, scale):
    z = logits(scale=scale)
    got = getattr(kmrbf, name)(z)
    np.testing.assert_allclose(got, ref.MAPS[name](z), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)
    assert (got >= 0).all()


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.7, 2.0])
def test_entmax_alpha(alpha):
    z = logits()
    np.testing.assert_allclose(kmrbf.entmax(z, alpha), ref.entmax_bisect(z, alpha), atol=1e-7)
    with pytest.raises(ValueError, match="alpha"):
        kmrbf.entmax(z, 1.0)


@pytest.mark.parametrize("name", ["softmax", "entmax15", "sparsemax"])
def test_maps_float32_axis_and_masking(name):
    f = getattr(kmrbf, name)
    z32 = logits(dtype=np.float32)
    p = f(z32)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p, ref.MAPS[name](z32.astype(np.float64)), atol=2e-6)
    z3 = logits(n=24).reshape(4, 6, 17)
    np.testing.assert_allclose(f(z3, axis=1), np.moveaxis(f(np.moveaxis(z3, 1, -1)), -1, 1))
    zm = logits(n=5)
    zm[:, :3] = -np.inf
    pm = f(zm)
    assert (pm[:, :3] == 0).all()
    np.testing.assert_allclose(pm.sum(axis=1), 1.0)
    zm[2, 5] = np.nan
    with pytest.raises(ValueError, match="row 2, column 5"):
        f(zm)


def data(n=200, d=3, k=4, seed=0):
    rs = np.random.RandomState(seed)
    return rs.standard_normal((n, d)) + 5.0, rs.standard_normal((k, d)) + 5.0


@pytest.mark.parametrize("map", ["softmax", "entmax15", "sparsemax"])
@pytest.mark.parametrize("T", [0.05, 1.0, 20.0])
def test_responsibilities_and_objectives_match_naive(map, T):
    X, C = data()
    w = np.random.RandomState(2).uniform(0.1, 2.0, len(X))
    J, L, F, r = ref.objectives(X, C, T, map, w)
    np.testing.assert_allclose(kmrbf.responsibilities(X, C, T, map), r, atol=1e-10)
    o = kmrbf.objectives(X, C, T, map, sample_weight=w)
    assert o["J"] == pytest.approx(J, rel=1e-10)
    assert o["L"] == pytest.approx(L, rel=1e-10)
    assert o["F"] == pytest.approx(F, rel=1e-9, abs=1e-9)
    assert 0 <= o["L"] - o["J"] <= o["bound"] * (1 + 1e-9)
    assert -o["bound"] * (1 + 1e-9) <= o["F"] - o["J"] <= 1e-9
    r32 = kmrbf.responsibilities(X.astype(np.float32), C.astype(np.float32), T, map)
    assert r32.dtype == np.float32
    np.testing.assert_allclose(r32.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("map", ["softmax", "entmax15", "sparsemax"])
def test_gradients_match_finite_differences(map):
    X, C = data(n=60)
    T, h = 0.7, 1e-6
    o = kmrbf.objectives(X, C, T, map, gradient="full")
    of = kmrbf.objectives(X, C, T, map, gradient="stopgrad")

    def value(key, Xv, Cv):
        return kmrbf.objectives(Xv, Cv, T, map)[key]

    for key, out in (("L", o), ("F", of)):
        gc = np.zeros_like(C)
        for i in np.ndindex(C.shape):
            e = np.zeros_like(C)
            e[i] = h
            gc[i] = (value(key, X, C + e) - value(key, X, C - e)) / (2 * h)
        np.testing.assert_allclose(out["grad_centers"], gc, rtol=1e-5, atol=1e-5)
        gx = np.zeros((5, X.shape[1]))
        for i in np.ndindex(gx.shape):
            e = np.zeros_like(X)
            e[i] = h
            gx[i] = (value(key, X + e, C) - value(key, X - e, C)) / (2 * h)
        np.testing.assert_allclose(out["grad_X"][:5], gx, rtol=1e-5, atol=1e-5)


def test_function_errors_name_the_argument():
    X, C = data()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        kmrbf.responsibilities(X, C, 0.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        kmrbf.objectives(X, C, -1.0)
    with pytest.raises(ValueError, match="map must be one of"):
        kmrbf.responsibilities(X, C, 1.0, map="entmax2")
    with pytest.raises(ValueError, match="centers must have shape"):
        kmrbf.responsibilities(X, C[:, :2], 1.0)
    with pytest.raises(ValueError, match="gradient must be one of"):
        kmrbf.objectives(X, C, 1.0, gradient="exact")
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="row 3, column 1"):
        kmrbf.responsibilities(Xn, C, 1.0)
    with pytest.raises(ValueError, match="effective temperature"):
        kmrbf.responsibilities(X.astype(np.float32), C.astype(np.float32), 1e-300)


def test_extreme_temperatures_stay_on_the_simplex():
    X, C = data()
    for T in (1e-30, 1e30):
        for map in ("softmax", "entmax15", "sparsemax"):
            r = kmrbf.responsibilities(X.astype(np.float32), C.astype(np.float32), T, map)
            assert np.isfinite(r).all()
            np.testing.assert_allclose(r.sum(axis=1), 1.0, rtol=1e-5)
