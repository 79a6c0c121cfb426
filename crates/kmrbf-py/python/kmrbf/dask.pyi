"""Type stubs of ``kmrbf.dask``."""

from typing import Any, Optional, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

class KMeans:
    n_clusters: int
    init: Union[str, ArrayLike]
    max_iter: int
    tol: float
    random_state: Union[int, np.random.RandomState, None]
    init_sample_size: int
    cluster_centers_: NDArray[Any]
    labels_: Any
    inertia_: float
    n_iter_: int
    n_features_in_: int
    def __init__(
        self,
        n_clusters: int = ...,
        *,
        init: Union[str, ArrayLike] = ...,
        max_iter: int = ...,
        tol: float = ...,
        random_state: Union[int, np.random.RandomState, None] = ...,
        init_sample_size: int = ...,
    ) -> None: ...
    def fit(self, X: Any, y: Any = ..., sample_weight: Optional[Any] = ...) -> "KMeans": ...
    def predict(self, X: Any) -> Any: ...

def check_worker_versions() -> None: ...
