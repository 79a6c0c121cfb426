"""kmrbf: exact, fast K-Means and its differentiable RBF-network form.

``KMeans`` is a drop-in replacement for scikit-learn's on dense data; ``RBFKMeans`` anneals
the RBF model to its K-Means limit and records the equivalence in ``trace_``; the functions
give the row maps (softmax, entmax15, sparsemax, entmax), the responsibilities and the
objectives with their exact gradients. Every computation releases the GIL and runs on
``n_threads`` threads.
"""

from ._core import __version__
from ._functions import entmax, entmax15, objectives, responsibilities, softmax, sparsemax
from ._kmeans import KMeans
from ._rbf import RBFKMeans

__all__ = [
    "KMeans",
    "RBFKMeans",
    "entmax",
    "entmax15",
    "objectives",
    "responsibilities",
    "softmax",
    "sparsemax",
    "__version__",
]
