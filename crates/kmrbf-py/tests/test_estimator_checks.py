"""scikit-learn's own estimator checks, every one of them run."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from kmrbf import KMeans, MiniBatchKMeans, MiniBatchRBFKMeans, RBFKMeans

# Each entry says why the check cannot pass; the test still runs it (as xfail).
EXPECTED_FAILURES = {
    # The check fits with integer weights and with the rows repeated, from the default
    # init='k-means++' with one random_state: the seeding draws from a different number of
    # rows, so the initial centers (and the local optimum) differ. scikit-learn's own KMeans
    # is marked the same way. With given initial centers weights equal repetition exactly:
    # test_kmeans.py::test_integer_weights_equal_repeated_rows checks that.
    "check_sample_weight_equivalence_on_dense_data": (
        "k-means++ seeding samples rows: repeated rows change the draws"
    ),
}

# Not a skip of ours: scikit-learn skips check_array_api_input itself unless the environment
# sets SCIPY_ARRAY_API=1. The estimators take numpy arrays only (no array API namespaces).


@parametrize_with_checks(
    [
        KMeans(n_clusters=3, random_state=0),
        MiniBatchKMeans(n_clusters=3, random_state=0),
        MiniBatchRBFKMeans(n_clusters=3, random_state=0),
        RBFKMeans(n_clusters=3, random_state=0),
        RBFKMeans(n_clusters=3, map="softmax", temperature=0.5, random_state=0),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
