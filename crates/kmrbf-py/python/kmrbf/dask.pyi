"""Type stubs of ``kmrbf.dask``."""

from typing import Any, Dict, List, Optional, Union

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

class RBFKMeans:
    n_clusters: int
    map: str
    alpha: Optional[float]
    kernel: str
    temperature: Optional[float]
    sigma0: Union[str, float]
    sigma_min: Optional[float]
    gamma: float
    schedule: str
    step: str
    lr: float
    gradient: str
    init: Union[str, ArrayLike]
    tol: float
    stage_cap: int
    polish: bool
    reference: bool
    warm_start: bool
    random_state: Union[int, np.random.RandomState, None]
    init_sample_size: int
    cluster_centers_: NDArray[Any]
    labels_: Any
    inertia_: float
    n_iter_: int
    sigma0_: float
    temperature_: float
    trace_: List[Dict[str, Any]]
    kmeans_: Optional[KMeans]
    n_features_in_: int
    def __init__(
        self,
        n_clusters: int = ...,
        *,
        map: str = ...,
        alpha: Optional[float] = ...,
        kernel: str = ...,
        temperature: Optional[float] = ...,
        sigma0: Union[str, float] = ...,
        sigma_min: Optional[float] = ...,
        gamma: float = ...,
        schedule: str = ...,
        step: str = ...,
        lr: float = ...,
        gradient: str = ...,
        init: Union[str, ArrayLike] = ...,
        tol: float = ...,
        stage_cap: int = ...,
        polish: bool = ...,
        reference: bool = ...,
        warm_start: bool = ...,
        random_state: Union[int, np.random.RandomState, None] = ...,
        init_sample_size: int = ...,
    ) -> None: ...
    def fit(self, X: Any, y: Any = ..., sample_weight: Optional[Any] = ...) -> "RBFKMeans": ...
    def predict(self, X: Any) -> Any: ...
    def predict_proba(self, X: Any) -> Any: ...

def check_worker_versions() -> None: ...
