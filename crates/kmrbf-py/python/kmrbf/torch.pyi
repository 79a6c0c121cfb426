"""Type stubs of ``kmrbf.torch``."""

from typing import Any, List, NamedTuple, Optional, Union

import torch
from torch import nn

MAPS: tuple
KERNELS: tuple

class RBFOutput(NamedTuple):
    responsibilities: torch.Tensor
    distances: Optional[torch.Tensor]
    loss: Optional[torch.Tensor]
    free_energy: Optional[torch.Tensor]

def squared_distances(z: torch.Tensor, centers: torch.Tensor) -> torch.Tensor: ...
def responsibilities(
    z: torch.Tensor,
    centers: torch.Tensor,
    temperature: Union[float, torch.Tensor],
    map: str = ...,
    *,
    alpha: Optional[float] = ...,
    kernel: str = ...,
    n_threads: Optional[int] = ...,
) -> torch.Tensor: ...
def plain_responsibilities(
    z: torch.Tensor,
    centers: torch.Tensor,
    temperature: Union[float, torch.Tensor],
    map: str = ...,
    *,
    alpha: Optional[float] = ...,
    kernel: str = ...,
) -> torch.Tensor: ...

class RBFLayer(nn.Module):
    centers: nn.Parameter
    temperature: torch.Tensor
    map: str
    alpha: Optional[float]
    kernel: str
    n_threads: Optional[int]
    def __init__(
        self,
        n_clusters: int,
        n_features: int,
        *,
        map: str = ...,
        alpha: Optional[float] = ...,
        kernel: str = ...,
        temperature: float = ...,
        centers: Optional[Any] = ...,
        n_threads: Optional[int] = ...,
        dtype: Optional[torch.dtype] = ...,
        device: Optional[Union[str, torch.device]] = ...,
    ) -> None: ...
    @classmethod
    def from_kmeans(cls, kmeans: Any, **kwargs: Any) -> "RBFLayer": ...
    def set_temperature(self, temperature: float) -> None: ...
    def forward(
        self,
        z: torch.Tensor,
        temperature: Optional[float] = ...,
        *,
        return_distances: bool = ...,
        return_losses: bool = ...,
        reduction: str = ...,
    ) -> Union[torch.Tensor, RBFOutput]: ...
    def soft_lloyd_(
        self, z: torch.Tensor, temperature: Optional[float] = ..., sample_weight: Optional[torch.Tensor] = ...
    ) -> float: ...

def geometric_schedule(start: float, stop: float, gamma: float = ...) -> List[float]: ...
def dkm_schedule(start: float, steps: int) -> List[float]: ...
