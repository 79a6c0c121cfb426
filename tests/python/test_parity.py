"""kmrbf against scikit-learn: same data, same initial centers, same result.

Runs the `kmrbf` binary (KMRBF_BIN, default target/release/kmrbf) and scikit-learn's
KMeans(init=C0, n_init=1, algorithm="lloyd") on iris, digits and random blobs, in f64.
"""
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("KMRBF_BIN", str(ROOT / "target" / "release" / "kmrbf"))


def load(name):
    return np.loadtxt(ROOT / "data" / f"{name}.csv", delimiter=",", skiprows=1)


def datasets():
    blobs, _ = make_blobs(n_samples=5000, n_features=8, centers=12, cluster_std=2.5, random_state=0)
    wide, _ = make_blobs(n_samples=3000, n_features=40, centers=20, cluster_std=4.0, random_state=1)
    return {"iris": (load("iris"), 3), "digits": (load("digits"), 10), "blobs": (blobs, 12), "blobs40": (wide, 20)}


DATA = datasets()


def run_kmrbf(x, c0, algorithm, weights=None):
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        np.save(d / "x.npy", x)
        np.save(d / "c0.npy", c0)
        args = [BIN, "fit", "--data", str(d / "x.npy"), "--k", str(len(c0)), "--init", str(d / "c0.npy"),
                "--algorithm", algorithm, "--out", str(d / "m.json"), "--labels", str(d / "l.npy")]
        if weights is not None:
            np.save(d / "w.npy", weights)
            args += ["--weights", str(d / "w.npy")]
        subprocess.run(args, check=True, capture_output=True)
        model = json.loads((d / "m.json").read_text())
        return np.array(model["centers"]), np.load(d / "l.npy"), model


def initial_centers(x, k, seed):
    rng = np.random.default_rng(seed)
    return x[rng.choice(len(x), size=k, replace=False)].copy()


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_same_centers_and_labels_as_scikit_learn(name, seed, algorithm):
    x, k = DATA[name]
    c0 = initial_centers(x, k, seed)
    ref = KMeans(n_clusters=k, init=c0, n_init=1, algorithm="lloyd").fit(x)
    centers, labels, model = run_kmrbf(x, c0, algorithm)
    scale = np.abs(x).max()
    diff = np.abs(centers - ref.cluster_centers_).max()
    assert diff <= 1e-6 * scale, f"{name}: centers differ by {diff}"
    assert labels.dtype == np.int64
    assert np.array_equal(labels, ref.labels_), f"{name}: {np.sum(labels != ref.labels_)} labels differ"
    assert model["inertia"] == pytest.approx(ref.inertia_, rel=1e-9)
    assert abs(model["n_iter"] - ref.n_iter_) <= 1


@pytest.mark.parametrize("name", ["iris", "blobs"])
def test_sample_weights_match_scikit_learn(name):
    x, k = DATA[name]
    rng = np.random.default_rng(5)
    w = rng.uniform(0.0, 3.0, size=len(x))
    c0 = initial_centers(x, k, 7)
    ref = KMeans(n_clusters=k, init=c0, n_init=1, algorithm="lloyd").fit(x, sample_weight=w)
    centers, labels, model = run_kmrbf(x, c0, "lloyd", weights=w)
    assert np.abs(centers - ref.cluster_centers_).max() <= 1e-6 * np.abs(x).max()
    assert np.array_equal(labels, ref.labels_)
    assert model["inertia"] == pytest.approx(ref.inertia_, rel=1e-9)


def test_kmeans_plus_plus_quality_is_on_par_with_scikit_learn():
    # Different random streams, so compare the distribution of inertia over seeds.
    x, k = DATA["blobs"]
    ours = []
    for seed in range(5):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            np.save(d / "x.npy", x)
            subprocess.run([BIN, "fit", "--data", str(d / "x.npy"), "--k", str(k), "--seed", str(seed),
                            "--out", str(d / "m.json")], check=True, capture_output=True)
            ours.append(json.loads((d / "m.json").read_text())["inertia"])
    theirs = [KMeans(n_clusters=k, n_init=1, random_state=s).fit(x).inertia_ for s in range(5)]
    assert np.median(ours) <= 1.02 * np.median(theirs), (ours, theirs)
