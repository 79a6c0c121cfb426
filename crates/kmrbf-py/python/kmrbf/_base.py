"""What ``KMeans`` and ``RBFKMeans`` share: scikit-learn's estimator plumbing around centers."""

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core
from ._validation import _FLOATS, check_n_threads, check_sample_weight, unchanged_on_error


class CentersEstimator(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """A clusterer whose fitted state is ``cluster_centers_``; subclasses define ``_fit``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = False
        return tags

    def fit(self, X, y=None, sample_weight=None):
        """Fit the model to X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (float32 stays float32; other dtypes become float64).
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row (finite, >= 0).

        Returns
        -------
        self : object
            Fitted estimator. A failed fit leaves the estimator as it was.
        """
        with unchanged_on_error(self):
            return self._fit(X, sample_weight)

    def _test_data(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=_FLOATS, order="C", reset=False)

    def _centers_as(self, X):
        return np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)

    def predict(self, X):
        """Index of the nearest center of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        X = self._test_data(X)
        return _core.assign(X, self._centers_as(X), check_n_threads(self.n_threads))

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Euclidean distance of each row to each center (scikit-learn's cluster-distance space).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        X = self._test_data(X)
        return euclidean_distances(X, self._centers_as(X))

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of the training rows to the centers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the (weighted) inertia of X under the fitted centers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
            ``-sum_i w_i min_k ||x_i - c_k||^2``.
        """
        X = self._test_data(X)
        w = check_sample_weight(sample_weight, X)
        o = _core.objectives(X, self._centers_as(X), 1.0, "hard", None, "temperature", None, w,
                             check_n_threads(self.n_threads))
        return -float(o["J"])
