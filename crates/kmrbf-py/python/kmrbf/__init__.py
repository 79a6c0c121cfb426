"""kmrbf: exact, fast K-Means and its differentiable RBF-network form.

``KMeans`` and ``MiniBatchKMeans`` are drop-in replacements for scikit-learn's on dense data; ``RBFKMeans`` anneals
the RBF model to its K-Means limit and records the equivalence in ``trace_``, and
``MiniBatchRBFKMeans`` anneals it on mini-batches down to mini-batch K-Means; the functions
give the row maps (softmax, entmax15, sparsemax, entmax), the responsibilities and the
objectives with their exact gradients. Every computation releases the GIL and runs on
``n_threads`` threads.
"""

from ._core import __version__
from ._functions import entmax, entmax15, objectives, responsibilities, softmax, sparsemax
from ._kmeans import KMeans
from ._minibatch import MiniBatchKMeans
from ._minibatch_rbf import MiniBatchRBFKMeans
from ._rbf import RBFKMeans

__all__ = [
    "KMeans",
    "MiniBatchKMeans",
    "MiniBatchRBFKMeans",
    "RBFKMeans",
    "entmax",
    "entmax15",
    "objectives",
    "responsibilities",
    "softmax",
    "sparsemax",
    "__version__",
]
