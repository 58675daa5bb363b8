"""Where this process runs: its place in a ``torchrun`` data-parallel job (DistInfo) and its device.

Run without ``torchrun``, a process is a one-process job (``SINGLE_PROCESS``) whose
barrier and sums do nothing, so the training loop has one code path for both.
How the loop splits the work is described in ``alexnet.train``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from alexnet.errors import TrainError


@dataclass(frozen=True)
class DistInfo:
    """This process's place in a (possibly one-process) data-parallel job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def sum(self, values: Sequence[float], device: torch.device) -> list[float]:
        """Element-wise sum of ``values`` over all processes (float64 on ``device``)."""
        if not self.enabled:
            return list(values)
        tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
        torch.distributed.all_reduce(tensor)
        return tensor.tolist()


# The default of every ``dist`` parameter: a process started without torchrun.
SINGLE_PROCESS = DistInfo()


def init_distributed(device_name: str) -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment, if any."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return SINGLE_PROCESS
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not torch.distributed.is_initialized():
        wants_cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
        backend = "nccl" if wants_cuda else "gloo"
        if wants_cuda:
            torch.cuda.set_device(local_rank)
        torch.distributed.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def resolve_device(name: str, dist: DistInfo = SINGLE_PROCESS) -> torch.device:
    """``"auto"`` -> cuda (this process's GPU under torchrun) when available, else cpu."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TrainError(f"device {name!r} asked for, but CUDA is not available on this machine")
        if device.index is None:
            device = torch.device("cuda", dist.local_rank if dist.enabled else torch.cuda.current_device())
    return device
