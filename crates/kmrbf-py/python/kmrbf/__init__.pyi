"""Type stubs of the public ``kmrbf`` namespace (see the docstrings for the meaning)."""

from typing import Any, Callable, Dict, List, Literal, Optional, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

__version__: str

Map = Literal["softmax", "entmax15", "sparsemax", "entmax", "hard"]
Kernel = Literal["temperature", "bandwidth"]
RandomState = Union[int, np.random.RandomState, None]
InitSpec = Union[Literal["k-means++", "random"], ArrayLike, Callable[..., ArrayLike]]

class KMeans:
    n_clusters: int
    init: InitSpec
    n_init: Union[Literal["auto"], int]
    max_iter: int
    tol: float
    random_state: RandomState
    copy_x: bool
    algorithm: Literal["lloyd", "elkan", "hamerly", "auto"]
    n_threads: Optional[int]
    cluster_centers_: NDArray[Any]
    labels_: NDArray[np.int32]
    inertia_: float
    n_iter_: int
    n_features_in_: int
    feature_names_in_: NDArray[Any]
    def __init__(
        self,
        n_clusters: int = ...,
        *,
        init: InitSpec = ...,
        n_init: Union[Literal["auto"], int] = ...,
        max_iter: int = ...,
        tol: float = ...,
        random_state: RandomState = ...,
        copy_x: bool = ...,
        algorithm: Literal["lloyd", "elkan", "hamerly", "auto"] = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    def fit(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> "KMeans": ...
    def predict(self, X: ArrayLike) -> NDArray[np.int32]: ...
    def fit_predict(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> NDArray[np.int32]: ...
    def transform(self, X: ArrayLike) -> NDArray[Any]: ...
    def fit_transform(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> NDArray[Any]: ...
    def score(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> float: ...
    def get_params(self, deep: bool = ...) -> Dict[str, Any]: ...
    def set_params(self, **params: Any) -> "KMeans": ...

class MiniBatchKMeans:
    n_clusters: int
    init: Union[Literal["k-means++", "random"], ArrayLike]
    max_iter: int
    batch_size: int
    verbose: int
    compute_labels: bool
    random_state: RandomState
    tol: float
    max_no_improvement: Optional[int]
    init_size: Optional[int]
    n_init: Union[Literal["auto"], int]
    reassignment_ratio: float
    n_threads: Optional[int]
    cluster_centers_: NDArray[Any]
    labels_: NDArray[np.int32]
    inertia_: float
    n_iter_: int
    n_steps_: int
    batch_inertia_: NDArray[np.float64]
    n_features_in_: int
    feature_names_in_: NDArray[Any]
    def __init__(
        self,
        n_clusters: int = ...,
        *,
        init: Union[Literal["k-means++", "random"], ArrayLike] = ...,
        max_iter: int = ...,
        batch_size: int = ...,
        verbose: int = ...,
        compute_labels: bool = ...,
        random_state: RandomState = ...,
        tol: float = ...,
        max_no_improvement: Optional[int] = ...,
        init_size: Optional[int] = ...,
        n_init: Union[Literal["auto"], int] = ...,
        reassignment_ratio: float = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    def fit(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> "MiniBatchKMeans": ...
    def partial_fit(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> "MiniBatchKMeans": ...
    def predict(self, X: ArrayLike) -> NDArray[np.int32]: ...
    def fit_predict(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> NDArray[np.int32]: ...
    def transform(self, X: ArrayLike) -> NDArray[Any]: ...
    def fit_transform(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> NDArray[Any]: ...
    def score(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> float: ...
    def get_params(self, deep: bool = ...) -> Dict[str, Any]: ...
    def set_params(self, **params: Any) -> "MiniBatchKMeans": ...

class RBFKMeans:
    n_clusters: int
    map: Map
    alpha: Optional[float]
    kernel: Kernel
    temperature: Optional[float]
    sigma0: Union[Literal["auto", "median", "critical"], float]
    sigma_min: Optional[float]
    gamma: float
    schedule: Literal["geometric", "dkm"]
    step: Literal["soft-lloyd", "gd", "adam"]
    lr: float
    gradient: Literal["stopgrad", "full"]
    init: InitSpec
    tol: float
    stage_cap: int
    polish: bool
    reference: bool
    warm_start: bool
    random_state: RandomState
    copy_x: bool
    n_threads: Optional[int]
    cluster_centers_: NDArray[Any]
    labels_: NDArray[np.int32]
    inertia_: float
    n_iter_: int
    temperature_: float
    sigma0_: float
    trace_: List[Dict[str, Any]]
    kmeans_: Optional[KMeans]
    n_features_in_: int
    feature_names_in_: NDArray[Any]
    def __init__(
        self,
        n_clusters: int = ...,
        *,
        map: Map = ...,
        alpha: Optional[float] = ...,
        kernel: Kernel = ...,
        temperature: Optional[float] = ...,
        sigma0: Union[Literal["auto", "median", "critical"], float] = ...,
        sigma_min: Optional[float] = ...,
        gamma: float = ...,
        schedule: Literal["geometric", "dkm"] = ...,
        step: Literal["soft-lloyd", "gd", "adam"] = ...,
        lr: float = ...,
        gradient: Literal["stopgrad", "full"] = ...,
        init: InitSpec = ...,
        tol: float = ...,
        stage_cap: int = ...,
        polish: bool = ...,
        reference: bool = ...,
        warm_start: bool = ...,
        random_state: RandomState = ...,
        copy_x: bool = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    def fit(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> "RBFKMeans": ...
    def predict(self, X: ArrayLike) -> NDArray[np.int32]: ...
    def fit_predict(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> NDArray[np.int32]: ...
    def predict_proba(self, X: ArrayLike) -> NDArray[Any]: ...
    def transform(self, X: ArrayLike) -> NDArray[Any]: ...
    def fit_transform(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> NDArray[Any]: ...
    def score(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> float: ...
    def get_params(self, deep: bool = ...) -> Dict[str, Any]: ...
    def set_params(self, **params: Any) -> "RBFKMeans": ...

class MiniBatchRBFKMeans:
    n_clusters: int
    map: Map
    alpha: Optional[float]
    kernel: Kernel
    temperature: Optional[float]
    sigma0: Union[Literal["median", "auto"], float]
    sigma_min: Optional[float]
    gamma: float
    schedule: Literal["geometric", "dkm"]
    stage_batches: Optional[int]
    polish: bool
    reference: bool
    init: Union[Literal["k-means++", "random"], ArrayLike]
    max_iter: int
    batch_size: int
    verbose: int
    compute_labels: bool
    random_state: RandomState
    tol: float
    max_no_improvement: Optional[int]
    init_size: Optional[int]
    n_init: Union[Literal["auto"], int]
    reassignment_ratio: float
    n_threads: Optional[int]
    cluster_centers_: NDArray[Any]
    labels_: NDArray[np.int32]
    inertia_: float
    temperature_: float
    sigma0_: float
    trace_: List[Dict[str, Any]]
    kmeans_: Optional[KMeans]
    batch_loss_: float
    n_steps_: int
    n_iter_: int
    n_features_in_: int
    feature_names_in_: NDArray[Any]
    def __init__(
        self,
        n_clusters: int = ...,
        *,
        map: Map = ...,
        alpha: Optional[float] = ...,
        kernel: Kernel = ...,
        temperature: Optional[float] = ...,
        sigma0: Union[Literal["median", "auto"], float] = ...,
        sigma_min: Optional[float] = ...,
        gamma: float = ...,
        schedule: Literal["geometric", "dkm"] = ...,
        stage_batches: Optional[int] = ...,
        polish: bool = ...,
        reference: bool = ...,
        init: Union[Literal["k-means++", "random"], ArrayLike] = ...,
        max_iter: int = ...,
        batch_size: int = ...,
        verbose: int = ...,
        compute_labels: bool = ...,
        random_state: RandomState = ...,
        tol: float = ...,
        max_no_improvement: Optional[int] = ...,
        init_size: Optional[int] = ...,
        n_init: Union[Literal["auto"], int] = ...,
        reassignment_ratio: float = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    def fit(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> "MiniBatchRBFKMeans": ...
    def partial_fit(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> "MiniBatchRBFKMeans": ...
    def predict(self, X: ArrayLike) -> NDArray[np.int32]: ...
    def fit_predict(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> NDArray[np.int32]: ...
    def predict_proba(self, X: ArrayLike) -> NDArray[Any]: ...
    def transform(self, X: ArrayLike) -> NDArray[Any]: ...
    def fit_transform(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> NDArray[Any]: ...
    def score(self, X: ArrayLike, y: Any = ..., sample_weight: Optional[ArrayLike] = ...) -> float: ...
    def get_params(self, deep: bool = ...) -> Dict[str, Any]: ...
    def set_params(self, **params: Any) -> "MiniBatchRBFKMeans": ...

def softmax(z: ArrayLike, axis: int = ..., *, n_threads: Optional[int] = ...) -> NDArray[Any]: ...
def entmax15(z: ArrayLike, axis: int = ..., *, n_threads: Optional[int] = ...) -> NDArray[Any]: ...
def sparsemax(z: ArrayLike, axis: int = ..., *, n_threads: Optional[int] = ...) -> NDArray[Any]: ...
def entmax(z: ArrayLike, alpha: float, axis: int = ..., *, n_threads: Optional[int] = ...) -> NDArray[Any]: ...
def responsibilities(
    X: ArrayLike,
    centers: ArrayLike,
    temperature: float,
    map: Map = ...,
    *,
    alpha: Optional[float] = ...,
    kernel: Kernel = ...,
    n_threads: Optional[int] = ...,
) -> NDArray[Any]: ...
def objectives(
    X: ArrayLike,
    centers: ArrayLike,
    temperature: float,
    map: Map = ...,
    *,
    gradient: Optional[Literal["stopgrad", "full"]] = ...,
    sample_weight: Optional[ArrayLike] = ...,
    alpha: Optional[float] = ...,
    kernel: Kernel = ...,
    n_threads: Optional[int] = ...,
) -> Dict[str, Any]: ...
