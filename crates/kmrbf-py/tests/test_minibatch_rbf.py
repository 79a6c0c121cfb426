"""kmrbf.MiniBatchRBFKMeans: its one-hot limit is MiniBatchKMeans bit for bit; one step against a
direct numpy update with the entmax package's responsibilities; the annealing lands near
K-Means; partial_fit follows the schedule; determinism and bad input."""

import numpy as np
import pytest
import torch
from entmax import entmax15 as torch_entmax15
from sklearn.datasets import make_blobs

from kmrbf import KMeans, MiniBatchKMeans, MiniBatchRBFKMeans


def blobs(n=6000, d=8, k=12, seed=0, dtype=np.float64, std=1.0):
    X, y = make_blobs(n, d, centers=k, random_state=seed, cluster_std=std)
    return X.astype(dtype), y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("map", ["softmax", "entmax15", "sparsemax"])
def test_at_a_temperature_below_every_gap_it_is_minibatch_kmeans(dtype, map):
    X, _ = blobs(dtype=dtype)
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(X)).astype(dtype)
    common = dict(random_state=4, batch_size=256, max_iter=2, max_no_improvement=None, reassignment_ratio=0.05)
    hard = MiniBatchKMeans(12, **common).fit(X, sample_weight=w)
    soft = MiniBatchRBFKMeans(12, map=map, temperature=1e-30, stage_batches=2 * len(X) // 256, **common)
    soft.fit(X, sample_weight=w)
    np.testing.assert_array_equal(soft.cluster_centers_, hard.cluster_centers_)
    np.testing.assert_array_equal(soft.labels_, hard.labels_)
    assert soft.inertia_ == hard.inertia_
    assert soft.n_steps_ == hard.n_steps_
    assert soft.trace_[0]["onehot_fraction"] == 1.0


def test_a_partial_fit_step_is_the_responsibility_weighted_running_mean():
    X, _ = blobs(n=500, d=4, k=5, std=3.0)
    init = X[:5].copy()
    sigma = 20.0
    m = MiniBatchRBFKMeans(5, init=init, temperature=sigma, reassignment_ratio=0.0)
    m.partial_fit(X[:250])
    c1, n1 = m.cluster_centers_.copy(), m._counts.copy()
    m.partial_fit(X[250:])
    # Direct: D, the entmax package's entmax-1.5 of -D / sigma, then (n c + R^T x) / (n + R^T 1).
    B = X[250:]
    D = ((B[:, None, :] - c1[None, :, :]) ** 2).sum(-1)
    R = torch_entmax15(torch.from_numpy(-D / sigma), dim=1).numpy()
    assert 0 < (R == 0).mean() < 0.8, "a batch both sparse and soft"
    mass = R.sum(0)
    want = (n1[:, None] * c1 + R.T @ B) / (n1 + mass)[:, None]
    want[mass == 0] = c1[mass == 0]
    np.testing.assert_allclose(m.cluster_centers_, want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(m._counts, n1 + mass, rtol=1e-9)
    F = (R * D).sum() - sigma * ((R - R**1.5) / 0.75).sum()  # Tsallis-1.5 entropy: sum (r - r^1.5) / (1.5 * 0.5)
    assert m.batch_loss_ == pytest.approx(F, rel=1e-9)
    assert m.temperature_ == sigma


def test_partial_fit_walks_the_schedule_with_fresh_weights_per_stage():
    X, _ = blobs(n=4000, d=6, k=8)
    m = MiniBatchRBFKMeans(8, random_state=0, sigma0=10.0, sigma_min=1.0, gamma=0.5, stage_batches=3)
    sigmas, counts = [], []
    for i in range(0, 4000, 200):
        m.partial_fit(X[i:i + 200])
        sigmas.append(m.temperature_)
        counts.append(m._counts.sum())
    # 10, 5, 2.5, 1.25 (halving while above sigma_min): three batches each, then the last stays.
    assert sigmas[:3] == [10.0] * 3 and sigmas[3:6] == [5.0] * 3
    assert sigmas[9:] == [1.25] * 11
    assert m.sigma0_ == 10.0
    # Within a stage the running weights grow by each batch's 200 rows; a new stage starts afresh.
    assert counts[0] == pytest.approx(200) and counts[2] == pytest.approx(600)
    assert counts[3] == pytest.approx(200)
    assert m.n_steps_ == 20


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_annealing_lands_near_kmeans(dtype):
    X, y = blobs(n=30000, d=10, k=16, dtype=dtype)
    m = MiniBatchRBFKMeans(16, random_state=0, reference=True, polish=True).fit(X)
    km = m.kmeans_
    assert isinstance(km, KMeans)
    assert m.trace_[0]["onehot_fraction"] < 0.9, "median start: soft"
    assert m.trace_[-1]["onehot_fraction"] > 0.99
    assert m.inertia_ <= 1.02 * km.inertia_
    assert m.trace_[-1]["ari"] > 0.95
    assert m.cluster_centers_.dtype == dtype
    p = m.predict_proba(X[:50])
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    assert (m.predict(X) == m.labels_).all()


def test_same_bits_for_any_thread_count_and_seeded():
    X, _ = blobs(n=8000, d=8, k=10, dtype=np.float32)
    fits = [MiniBatchRBFKMeans(10, random_state=5, n_threads=t).fit(X) for t in (1, 2)]
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert [s["J"] for s in fits[0].trace_] == [s["J"] for s in fits[1].trace_]
    other = MiniBatchRBFKMeans(10, random_state=6).fit(X)
    assert not np.array_equal(other.cluster_centers_, fits[0].cluster_centers_)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"sigma0": "critical"}, "sigma0"),
        ({"stage_batches": 0}, "stage_batches"),
        ({"map": "nope"}, "map"),
        ({"temperature": -1.0}, "temperature"),
        ({"gamma": 1.5}, "gamma"),
        ({"polish": 1}, "polish must be a bool"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_parameters_raise(params, match):
    X, _ = blobs(n=300, d=3, k=3)
    with pytest.raises((ValueError, TypeError), match=match):
        MiniBatchRBFKMeans(3, **params).fit(X)


def test_bad_data_raise_and_change_nothing():
    X, _ = blobs(n=300, d=3, k=3)
    m = MiniBatchRBFKMeans(3, random_state=0).fit(X)
    before = m.cluster_centers_.copy()
    bad = X.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError):
        m.fit(bad)
    with pytest.raises(ValueError):
        m.partial_fit(bad)
    with pytest.raises(ValueError):
        m.partial_fit(X[:, :2])
    np.testing.assert_array_equal(m.cluster_centers_, before)
