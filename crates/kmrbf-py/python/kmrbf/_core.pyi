"""Type stubs of the compiled module (``crates/kmrbf-py/src``)."""

from typing import Any, Dict, List, Optional, Tuple, Union

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
    soft: Optional[Dict[str, Any]] = ...,
) -> Dict[str, Any]: ...
def minibatch_anneal(
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
    cooling: Dict[str, Any],
    stage_batches: Optional[int],
    polish: bool,
    reference: bool,
) -> Dict[str, Any]: ...
def stage_sigmas(
    x: NDArray[Any],
    centers: NDArray[Any],
    cooling: Dict[str, Any],
    n_threads: Optional[int],
) -> List[float]: ...
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
    extras: bool = ...,
) -> Tuple[Dict[str, Any], NDArray[np.int32]]: ...
def prepare_block_rows(
    x: NDArray[Any],
    sample_weight: Optional[NDArray[Any]],
    mean: NDArray[np.float64],
    offset: int,
) -> Tuple[NDArray[Any], NDArray[Any], NDArray[np.float64]]: ...
def prepared_shard_pass(
    x: NDArray[Any],
    norms: NDArray[Any],
    sample_weight: Optional[NDArray[Any]],
    centers: NDArray[Any],
    offset: int,
    prev: Optional[NDArray[np.int32]],
    extras: bool = ...,
) -> Tuple[Dict[str, Any], NDArray[np.int32]]: ...
def shard_merge(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]: ...
def shard_update(stats: Dict[str, Any], centers: NDArray[Any]) -> Tuple[NDArray[Any], float, int]: ...
def soft_shard_pass(
    x: NDArray[Any],
    sample_weight: Optional[NDArray[Any]],
    centers: NDArray[Any],
    reference: Optional[NDArray[Any]],
    mean: NDArray[np.float64],
    offset: int,
    map: str,
    alpha: Optional[float],
    temperature: float,
    resp_sums: bool,
    loss_sums: bool,
) -> Tuple[Dict[str, Any], Optional[NDArray[np.float64]]]: ...
def prepared_soft_shard_pass(
    x: NDArray[Any],
    norms: NDArray[Any],
    sample_weight: Optional[NDArray[Any]],
    centers: NDArray[Any],
    reference: Optional[NDArray[Any]],
    offset: int,
    map: str,
    alpha: Optional[float],
    temperature: float,
    resp_sums: bool,
    loss_sums: bool,
) -> Tuple[Dict[str, Any], Optional[NDArray[np.float64]]]: ...
def soft_merge(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]: ...
def gap_shard_pass(
    x: NDArray[Any],
    sample_weight: Optional[NDArray[Any]],
    centers: NDArray[Any],
    mean: NDArray[np.float64],
    offset: int,
    prev: Optional[NDArray[np.int32]],
    extras: bool,
) -> Tuple[Dict[str, Any], NDArray[np.int32]]: ...
def contingency_scores(table: NDArray[np.float64]) -> Tuple[float, float]: ...
def center_discrepancy(a: NDArray[np.float64], b: NDArray[np.float64]) -> float: ...

class SoftDriver:
    def __init__(self, settings: Dict[str, Any], k: int, d: int, dtype: str) -> None: ...
    def sigmas(self, sigma0: float) -> List[float]: ...
    def auto_sigma0(self, gap: float, scale: float) -> float: ...
    def effective(self, sigma: float) -> float: ...
    def request(self, temperature: float) -> Tuple[bool, bool]: ...
    def reset(self) -> None: ...
    def wants_lloyd(self, totals: Dict[str, Any], centers: NDArray[Any], temperature: float) -> bool: ...
    def update(
        self,
        centers: NDArray[Any],
        totals: Dict[str, Any],
        lloyd: Optional[Dict[str, Any]],
        temperature: float,
    ) -> Tuple[NDArray[Any], float]: ...
    def objectives(self, totals: Dict[str, Any], temperature: float) -> Dict[str, float]: ...
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
