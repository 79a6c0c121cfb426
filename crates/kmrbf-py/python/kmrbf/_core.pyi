"""Type stubs of the compiled module (``crates/kmrbf-py/src``)."""

from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
from numpy.typing import NDArray

Float = Union[np.float32, np.float64]

__version__: str

def kmeans_fit(
    x: NDArray[Any],
    n_clusters: int,
    init: Union[str, NDArray[Any]],
    n_init: Optional[int],
    max_iter: int,
    tol: float,
    seed: int,
    algorithm: str,
    sample_weight: Optional[NDArray[Any]],
    n_threads: Optional[int],
    copy_x: bool,
) -> Tuple[NDArray[Any], NDArray[np.int32], float, int]: ...
def initial_centers(
    x: NDArray[Any],
    n_clusters: int,
    init: str,
    seed: int,
    sample_weight: Optional[NDArray[Any]],
    n_threads: Optional[int],
) -> NDArray[Any]: ...
def assign(x: NDArray[Any], centers: NDArray[Any], n_threads: Optional[int]) -> NDArray[np.int32]: ...
def minibatch_fit(
    x: NDArray[Any],
    n_clusters: int,
    init: Union[str, NDArray[Any]],
    n_init: Optional[int],
    max_iter: int,
    batch_size: int,
    tol: float,
    max_no_improvement: Optional[int],
    init_size: Optional[int],
    reassignment_ratio: float,
    seed: int,
    sample_weight: Optional[NDArray[Any]],
    n_threads: Optional[int],
) -> Dict[str, Any]: ...
def minibatch_step(
    x: NDArray[Any],
    sample_weight: Optional[NDArray[Any]],
    centers: NDArray[Any],
    counts: NDArray[Any],
    since_reassign: int,
    reassignment_ratio: float,
    seed: int,
    labels_after: bool,
    n_threads: Optional[int],
) -> Dict[str, Any]: ...
def anneal(
    x: NDArray[Any],
    init: NDArray[Any],
    sample_weight: Optional[NDArray[Any]],
    settings: Dict[str, Any],
    n_threads: Optional[int],
    copy_x: bool,
) -> Dict[str, Any]: ...
def responsibilities(
    x: NDArray[Any],
    centers: NDArray[Any],
    temperature: float,
    map: str,
    alpha: Optional[float],
    kernel: str,
    n_threads: Optional[int],
) -> NDArray[Any]: ...
def objectives(
    x: NDArray[Any],
    centers: NDArray[Any],
    temperature: float,
    map: str,
    alpha: Optional[float],
    kernel: str,
    gradient: Optional[str],
    sample_weight: Optional[NDArray[Any]],
    n_threads: Optional[int],
) -> Dict[str, Any]: ...
def map_rows(
    z: NDArray[Any], map: str, alpha: Optional[float], n_threads: Optional[int]
) -> NDArray[Any]: ...
def shard_pass(
    x: NDArray[Any],
    sample_weight: Optional[NDArray[Any]],
    centers: NDArray[Any],
    mean: NDArray[np.float64],
    offset: int,
    prev: Optional[NDArray[np.int32]],
) -> Tuple[Dict[str, Any], NDArray[np.int32]]: ...
def shard_merge(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]: ...
def shard_update(stats: Dict[str, Any], centers: NDArray[Any]) -> Tuple[NDArray[Any], float, int]: ...
def resp_backward(
    z: NDArray[Any],
    centers: NDArray[Any],
    resp: NDArray[Any],
    grad: NDArray[Any],
    temperature: float,
    map: str,
    alpha: Optional[float],
    n_threads: Optional[int],
) -> Tuple[NDArray[Any], NDArray[Any]]: ...
