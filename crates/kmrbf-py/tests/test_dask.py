"""kmrbf.dask.KMeans on a real LocalCluster (worker processes on 127.0.0.1)."""

import dask.array as da
import numpy as np
import pytest
from conftest import far_blobs
from distributed import Client, LocalCluster

import kmrbf
import kmrbf.dask as kd


def fit_on_cluster(X, workers, **params):
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster):
        m = kd.KMeans(**params).fit(X)
        return m.cluster_centers_, m.labels_.compute(), m.inertia_, m.n_iter_


@pytest.fixture(scope="module")
def data():
    X = far_blobs(n=6000, d=5, k=6, offset=50.0, seed=3)
    c0 = X[np.linspace(0, len(X) - 1, 6).astype(int)]
    # Two duplicated centers leave clusters empty in the first iteration: relocation.
    c0 = np.vstack([c0, c0[:2]])
    return X, c0


def test_bitwise_for_any_worker_count_and_equal_to_the_in_memory_fit(data):
    X, c0 = data
    dX = da.from_array(X, chunks=(1000, 5))
    runs = [fit_on_cluster(dX, w, n_clusters=8, init=c0) for w in (1, 2, 3)]
    for c, lab, j, it in runs[1:]:
        np.testing.assert_array_equal(c, runs[0][0])
        np.testing.assert_array_equal(lab, runs[0][1])
        assert j == runs[0][2] and it == runs[0][3]
    ref = kmrbf.KMeans(8, init=c0, n_init=1).fit(X)
    c, lab, j, it = runs[0]
    np.testing.assert_array_equal(lab, ref.labels_)
    assert it == ref.n_iter_
    assert np.abs(c - ref.cluster_centers_).max() <= 1e-12 * np.abs(X).max()
    assert j == pytest.approx(ref.inertia_, rel=1e-12)


@pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_block_sizes_agree_with_the_in_memory_fit(data, dtype, rel):
    X, c0 = data
    X, c0 = X.astype(dtype), c0.astype(dtype)
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(X)).astype(dtype)
    ref = kmrbf.KMeans(8, init=c0, n_init=1).fit(X, sample_weight=w)
    for chunk in (700, 2048, 6000):
        m = kd.KMeans(8, init=c0).fit(da.from_array(X, chunks=(chunk, 5)),
                                      sample_weight=da.from_array(w, chunks=1500))
        np.testing.assert_array_equal(m.labels_.compute(), ref.labels_)
        assert m.cluster_centers_.dtype == dtype
        assert np.abs(m.cluster_centers_ - ref.cluster_centers_).max() <= rel * np.abs(X).max()
        np.testing.assert_array_equal(m.predict(da.from_array(X, chunks=(999, 5))).compute(), ref.labels_)


def test_kmeans_plus_plus_on_a_sample_finds_every_cluster(data):
    X, _ = data
    m = kd.KMeans(6, random_state=0, init_sample_size=2000).fit(da.from_array(X, chunks=(1000, 5)))
    assert len(np.unique(m.labels_.compute())) == 6


def test_bad_input(data):
    X, c0 = data
    with pytest.raises(ValueError, match="split its columns"):
        kd.KMeans(8, init=c0).fit(da.from_array(X, chunks=(1000, 2)))
    bad = X.copy()
    bad[3456, 2] = np.nan
    with pytest.raises(ValueError, match="row 3456, column 2"):
        kd.KMeans(8, init=c0).fit(da.from_array(bad, chunks=(1000, 5)))
    with pytest.raises(ValueError, match="n_samples=5 should be >= n_clusters=8"):
        kd.KMeans(8).fit(da.from_array(X[:5], chunks=(2, 5)))


def test_a_worker_restarted_mid_fit_changes_nothing():
    import threading
    import time

    X = np.random.RandomState(0).standard_normal((60_000, 8))
    c0 = X[:32].copy()
    dX = da.from_array(X, chunks=(5000, 8))
    params = dict(n_clusters=32, init=c0, max_iter=40, tol=0.0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        clean = kd.KMeans(**params).fit(dX)
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("m", kd.KMeans(**params).fit(dX)))
        t0 = time.monotonic()
        t.start()
        time.sleep(1.0)
        assert t.is_alive(), "the fit ended before the restart"
        client.restart_workers([next(iter(client.scheduler_info()["workers"]))])
        t.join(timeout=600)
        m = out["m"]
        assert time.monotonic() - t0 > 1.0
    np.testing.assert_array_equal(m.cluster_centers_, clean.cluster_centers_)
    np.testing.assert_array_equal(m.labels_.compute(), clean.labels_.compute())
    assert m.inertia_ == clean.inertia_ and m.n_iter_ == clean.n_iter_


def test_a_worker_with_another_kmrbf_version_is_refused(data):
    X, c0 = data
    dX = da.from_array(X, chunks=(1000, 5))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        w = sorted(client.scheduler_info()["workers"])[0]
        # That worker now reports another version (lambdas travel by value: no test module
        # needs to be importable there).
        client.run(lambda: setattr(__import__("kmrbf")._core, "__version__", "0.0.0-other"), workers=[w])
        with pytest.raises(RuntimeError, match=r"other versions on 1 of 2 workers") as e:
            kd.KMeans(8, init=c0).fit(dX)
        assert w in str(e.value) and "0.0.0-other" in str(e.value) and kmrbf.__version__ in str(e.value)
        mine = kmrbf.__version__
        client.run(lambda v=mine: setattr(__import__("kmrbf")._core, "__version__", v), workers=[w])
        m = kd.KMeans(8, init=c0).fit(dX)
        assert m.n_iter_ >= 1


@pytest.fixture(scope="module")
def soft_data():
    X = far_blobs(n=3000, d=4, k=5, offset=40.0, seed=7)
    c0 = X[np.linspace(0, len(X) - 1, 5).astype(int)]
    # A duplicated center: the Lloyd runs (sigma0='auto', the reference) relocate a cluster.
    return X, np.vstack([c0, c0[:1]])


def anneal_on_cluster(X, workers, **params):
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster):
        m = kd.RBFKMeans(**params).fit(X)
        return m, m.labels_.compute(), m.kmeans_.labels_.compute()


def _trace_equal(a, b):
    for ra, rb in zip(a, b, strict=True):
        assert {k: v for k, v in ra.items() if k != "seconds"} == \
            {k: v for k, v in rb.items() if k != "seconds"}


def test_rbf_bitwise_for_any_worker_count_and_close_to_the_in_memory_anneal(soft_data):
    X, c0 = soft_data
    dX = da.from_array(X, chunks=(700, 4))
    runs = [anneal_on_cluster(dX, w, n_clusters=6, init=c0, map="entmax15") for w in (1, 2, 3)]
    m0, lab0, ref0 = runs[0]
    for m, lab, ref_lab in runs[1:]:
        np.testing.assert_array_equal(m.cluster_centers_, m0.cluster_centers_)
        np.testing.assert_array_equal(lab, lab0)
        np.testing.assert_array_equal(ref_lab, ref0)
        assert m.sigma0_ == m0.sigma0_ and m.inertia_ == m0.inertia_ and m.n_iter_ == m0.n_iter_
        _trace_equal(m.trace_, m0.trace_)
    ref = kmrbf.RBFKMeans(6, init=c0, map="entmax15").fit(X)
    scale = np.abs(X).max()
    np.testing.assert_array_equal(lab0, ref.labels_)
    np.testing.assert_array_equal(ref0, ref.kmeans_.labels_)
    assert np.abs(m0.cluster_centers_ - ref.cluster_centers_).max() <= 1e-12 * scale
    assert np.abs(m0.kmeans_.cluster_centers_ - ref.kmeans_.cluster_centers_).max() <= 1e-12 * scale
    assert m0.sigma0_ == pytest.approx(ref.sigma0_, rel=1e-9)
    assert m0.n_iter_ == ref.n_iter_ and len(m0.trace_) == len(ref.trace_)
    for a, b in zip(m0.trace_, ref.trace_):
        assert a["steps"] == b["steps"] and a["ari"] == b["ari"] and a["nmi"] == b["nmi"]
        for key in ("J", "L", "F", "mean_support", "onehot_fraction"):
            assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-12), key
        assert a["discrepancy"] == pytest.approx(b["discrepancy"], rel=1e-9, abs=1e-9 * scale)
    assert m0.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)


@pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_rbf_steps_block_sizes_and_weights_agree_with_the_in_memory_anneal(soft_data, dtype, rel):
    X, c0 = soft_data
    X, c0 = X.astype(dtype), c0.astype(dtype)
    w = np.random.RandomState(1).uniform(0.5, 2.0, len(X)).astype(dtype)
    # (Adam is left out: it divides by the root of the gradient's second moment, so gradients
    # at the level of rounding give steps of size lr, and the summation order shows.)
    cases = [dict(map="softmax", polish=True, reference=False),
             dict(map="sparsemax", sigma0=2.0, step="gd", lr=0.5, stage_cap=8, gradient="full",
                  reference=False)]
    for params in cases:
        ref = kmrbf.RBFKMeans(6, init=c0, **params).fit(X, sample_weight=w)
        for chunk in (512, 3000):
            m = kd.RBFKMeans(6, init=c0, **params).fit(
                da.from_array(X, chunks=(chunk, 4)), sample_weight=da.from_array(w, chunks=1100))
            assert m.cluster_centers_.dtype == dtype
            assert np.abs(m.cluster_centers_ - ref.cluster_centers_).max() <= rel * np.abs(X).max()
            np.testing.assert_array_equal(m.labels_.compute(), ref.labels_)
            assert m.n_iter_ == ref.n_iter_
            p = m.predict_proba(da.from_array(X, chunks=(999, 4))).compute()
            np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
            np.testing.assert_allclose(p, ref.predict_proba(X), atol=1e-5)


def test_rbf_bad_input(soft_data):
    X, c0 = soft_data
    dX = da.from_array(X, chunks=(1000, 4))
    for s0 in ("median", "critical"):
        with pytest.raises(ValueError, match="needs the data in memory"):
            kd.RBFKMeans(6, init=c0, sigma0=s0).fit(dX)
    with pytest.raises(ValueError, match="map"):
        kd.RBFKMeans(6, init=c0, map="softermax").fit(dX)
    bad = X.copy()
    bad[2345, 1] = np.inf
    with pytest.raises(ValueError, match="row 2345, column 1"):
        kd.RBFKMeans(6, init=c0).fit(da.from_array(bad, chunks=(1000, 4)))
    with pytest.raises(ValueError, match="split its columns"):
        kd.RBFKMeans(6, init=c0).fit(da.from_array(X, chunks=(1000, 2)))


def test_a_prepared_block_gives_the_block_pass_bits(data):
    # The Lloyd passes of a fit run on blocks moved and checked once (prepare_block_rows):
    # the same statistics and labels as the block pass that moves and checks every time.
    from kmrbf import _core

    X, c0 = data
    for dtype in (np.float32, np.float64):
        x = X[1000:4000].astype(dtype)
        mean = X.astype(np.float64).mean(axis=0)
        c = (c0 - mean).astype(dtype)
        w = np.linspace(0.5, 2.0, len(x)).astype(dtype)
        rows, norms, sq = _core.prepare_block_rows(x, w, mean, 1000)
        np.testing.assert_array_equal(rows, (x.astype(np.float64) - mean).astype(dtype))
        np.testing.assert_allclose(sq, (rows.astype(np.float64) ** 2).sum(axis=0), rtol=1e-12)
        prev = None
        for extras in (False, True):
            a, la = _core.shard_pass(x, w, c, mean, 1000, prev, extras)
            b, lb = _core.prepared_shard_pass(rows, norms, w, c, 1000, prev, extras)
            np.testing.assert_array_equal(la, lb)
            assert a.keys() == b.keys()
            for key in a:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
            prev = la
    bad = X[:100].copy()
    bad[42, 3] = np.nan
    with pytest.raises(ValueError, match="row 1042, column 3"):
        _core.prepare_block_rows(bad, None, mean, 1000)
    with pytest.raises(ValueError, match="weight"):
        _core.prepare_block_rows(X[:100], -np.ones(100), mean, 0)


def test_a_prepared_block_gives_the_soft_pass_bits(soft_data):
    from kmrbf import _core

    X, c0 = soft_data
    x = X[500:3500]
    mean = X.astype(np.float64).mean(axis=0)
    c = (c0 - mean).astype(X.dtype)
    ref = c[::-1].copy()
    w = np.linspace(0.5, 2.0, len(x)).astype(X.dtype)
    rows, norms, _ = _core.prepare_block_rows(x, w, mean, 500)
    for mp, sums, r in (("entmax15", (True, False), None), ("softmax", (True, True), ref)):
        a, ta = _core.soft_shard_pass(x, w, c, r, mean, 500, mp, None, 0.7, *sums)
        b, tb = _core.prepared_soft_shard_pass(rows, norms, w, c, r, 500, mp, None, 0.7, *sums)
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        if r is None:
            assert ta is None and tb is None
        else:
            np.testing.assert_array_equal(ta, tb)
