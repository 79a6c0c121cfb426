"""Shared data for the Python package's tests."""

from sklearn import datasets

DATASETS = ("iris", "wine", "breast_cancer", "digits", "blobs")


def load(name):
    if name == "blobs":
        return datasets.make_blobs(5000, 8, centers=6, random_state=0)[0]
    return getattr(datasets, f"load_{name}")().data


def far_blobs(n=3000, d=5, k=4, offset=1000.0, seed=0):
    """Blobs far from the origin: where f32 distances need centering."""
    X, _ = datasets.make_blobs(n, d, centers=k, random_state=seed)
    return X + offset
