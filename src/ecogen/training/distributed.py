"""Several processes, one run: torchrun's environment, the process group, DDP, and agreement.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE; without them a run is one process and
every method here does nothing. Every rank steps; rank 0 alone writes (callbacks with ``writes``).
``batch_size`` is per process, so the global batch is world_size x batch_size; learning rates are not
rescaled (docs/distributed.md says why and what to do).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ecogen.config import DistConfig
from ecogen.errors import ConfigError, EcogenError

SEED_MIX = 1_000_003


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    backend: str | None = None  # set by start()
    comm_device: torch.device = torch.device("cpu")  # where collectives' tensors live (nccl: the GPU)
    owns_group: bool = False  # start() created the process group (a caller's own group is left to it)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Distributed:
        """The launch torchrun describes, or one process when it did not launch us."""
        env = os.environ if env is None else env
        if "RANK" not in env or "WORLD_SIZE" not in env:
            return cls()
        try:
            rank, world = int(env["RANK"]), int(env["WORLD_SIZE"])
            local = int(env.get("LOCAL_RANK", rank))
            local_world = int(env.get("LOCAL_WORLD_SIZE", world))
        except ValueError:
            raise ConfigError("RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE must be integers (torchrun sets them)") from None
        if not 0 <= rank < world or not 0 <= local < local_world:
            raise ConfigError(f"rank {rank} of {world} (local {local} of {local_world}) is not a valid launch")
        if world > 1:
            rendezvous(env)
        return cls(rank, world, local, local_world)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def writer(self) -> bool:
        """The one process that writes checkpoints, grids, logs, evaluations and run.json."""
        return self.rank == 0

    # -- devices ----------------------------------------------------------------------------------------
    def device(self, requested: torch.device) -> torch.device:
        """Each rank its own GPU (local rank modulo the GPUs here); an explicit cuda:N is kept as asked."""
        if not self.enabled or requested.type != "cuda" or requested.index is not None:
            return requested
        return torch.device("cuda", self.local_rank % torch.cuda.device_count())

    def sharing(self, device: torch.device) -> int:
        """How many of this machine's ranks share ``device`` (or the CPU): each meters only its share of
        what is common to them (the idle floor; a GPU board's counter)."""
        if not self.enabled:
            return 1
        if device.type != "cuda" or device.index is None:
            return self.local_world_size
        count = max(torch.cuda.device_count(), 1)
        return sum(1 for r in range(self.local_world_size) if r % count == device.index % count)

    # -- the process group ------------------------------------------------------------------------------
    def start(self, device: torch.device, config: DistConfig) -> Distributed:
        """Join the process group; the backend follows the device unless the config names one."""
        if not self.enabled:
            return self
        backend = config.backend
        if backend == "auto":
            backend = "nccl" if device.type == "cuda" and self.sharing(device) == 1 else "gloo"
        if backend == "nccl" and device.type != "cuda":
            raise ConfigError("the nccl backend needs CUDA devices; use --ddp-backend gloo on CPUs")
        if config.sync_bn and device.type != "cuda":
            raise ConfigError("--sync-bn needs CUDA devices (PyTorch's SyncBatchNorm runs on GPUs only)")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        owns = not dist.is_initialized()
        if owns:
            self._join(backend, config.timeout_s)
        else:
            backend = dist.get_backend()
        return replace(self, backend=backend, comm_device=device if backend == "nccl" else torch.device("cpu"),
                       owns_group=owns)

    def _join(self, backend: str, timeout_s: float) -> None:
        """init_process_group, with a rank or a rendezvous that never comes as one line naming where it
        was awaited (torch raises a DistNetworkError / DistStoreError with a page of C++ context)."""
        addr, port = rendezvous(os.environ)
        try:
            dist.init_process_group(backend, timeout=dt.timedelta(seconds=timeout_s))
        except (RuntimeError, ValueError) as err:  # torch's DistError family are RuntimeErrors
            first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
            awaited = ("the other ranks did not all join" if self.rank == 0 else "rank 0 did not answer")
            raise EcogenError(f"rank {self.rank} of {self.world_size}: {awaited} at {addr}:{port} within "
                              f"--ddp-timeout {timeout_s:g} s ({first}); start every rank with the same "
                              f"MASTER_ADDR and MASTER_PORT (torchrun does)") from None

    def stop(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """A rank that died or stopped answering ends the others with one clear error, not a hang."""
        try:
            yield
        except RuntimeError as err:  # DistBackendError and gloo's closed connections are RuntimeErrors
            if not self.enabled or not _collective_failure(err):
                raise
            first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
            raise EcogenError(f"rank {self.rank}: another process of this run failed or did not answer within "
                              f"the timeout ({first}); resume the run from its last checkpoint") from None

    # -- models -----------------------------------------------------------------------------------------
    def wrap(self, modules: nn.ModuleDict, frozen: tuple[str, ...], device: torch.device,
             sync_bn: bool = False) -> nn.ModuleDict:
        """The modules a family steps: DDP around each trained one. ``modules`` keeps the raw modules
        (what checkpoints hold); with ``sync_bn`` their BatchNorms become SyncBatchNorm in place."""
        if not self.enabled:
            return modules
        stepped = nn.ModuleDict()
        for name in list(modules.keys()):
            if name in frozen or not any(p.requires_grad for p in modules[name].parameters()):
                stepped[name] = modules[name]  # nothing to reduce (an EMA copy, a VAE's fitted prior)
                continue
            if sync_bn:
                modules[name] = nn.SyncBatchNorm.convert_sync_batchnorm(modules[name])
            ids = [device.index] if device.type == "cuda" else None
            stepped[name] = DistributedDataParallel(modules[name], device_ids=ids)
        return stepped

    def noise_seed(self, seed: int, step: int) -> int:
        """Each rank's noise for ``step``: distinct per rank, a pure function of (seed, step, rank), so a
        resumed run draws exactly the noise an uninterrupted one would without saving every rank's RNG."""
        return ((seed * SEED_MIX + step) * SEED_MIX + self.rank) % (2**63 - 1)

    # -- collectives ------------------------------------------------------------------------------------
    def agree(self, reason: str | None) -> str | None:
        """Every rank stops at the same step: the lowest rank with a stop reason gives it to all."""
        if not self.enabled:
            return reason
        flag = torch.tensor([self.world_size - self.rank if reason else 0], device=self.comm_device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        winner = int(flag.item())
        if winner == 0:
            return None
        box = [reason]
        dist.broadcast_object_list(box, src=self.world_size - winner)
        return box[0]

    def sum(self, values: list[float]) -> list[float]:
        if not self.enabled:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.comm_device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def gather(self, obj: Any) -> list[Any] | None:
        """Every rank's ``obj`` on rank 0 (in rank order); None elsewhere."""
        if not self.enabled:
            return [obj]
        out: list[Any] | None = [None] * self.world_size if self.writer else None
        dist.gather_object(obj, out, dst=0)
        return out

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def rendezvous(env: Mapping[str, str]) -> tuple[str, int]:
    """MASTER_ADDR and MASTER_PORT, checked before any process group starts (torch's own message for a
    missing or bad one is a traceback from deep inside its rendezvous)."""
    addr, port = env.get("MASTER_ADDR", "").strip(), env.get("MASTER_PORT", "").strip()
    if not addr:
        raise ConfigError("MASTER_ADDR is not set: a run of several processes needs the address of rank 0 "
                          "(torchrun sets it; by hand: MASTER_ADDR=127.0.0.1)")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"MASTER_PORT must be a port number from 1 to 65535 (got {port[:20]!r}; torchrun sets it)")
    return addr, int(port)


def _collective_failure(err: RuntimeError) -> bool:
    if isinstance(err, getattr(dist, "DistError", ())):
        return True
    text = str(err).lower()
    return any(s in text for s in ("gloo", "nccl", "connection closed", "connection reset", "timed out", "timeout"))


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (or the module itself)."""
    return module.module if isinstance(module, DistributedDataParallel) else module
