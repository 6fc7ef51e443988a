"""Seeded, resumable batch order: batch k is a pure function of (seed, k), not of any global RNG."""

from __future__ import annotations

import torch

from ecogen.errors import DataError


class BatchStream:
    """Infinite stream of index batches; each epoch is a fresh permutation seeded by (seed, epoch).

    Being stateless in k is what makes a resumed run see exactly the batches an uninterrupted one would.
    Incomplete last batches are dropped so BatchNorm always sees full batches.
    """

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        if batch_size > n:
            raise DataError(f"batch size {batch_size} exceeds the {n} training images")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.batches_per_epoch = n // batch_size
        self._epoch = -1
        self._perm = torch.empty(0, dtype=torch.long)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm, self._epoch = torch.randperm(self.n, generator=gen), epoch
        return self._perm

    def indices(self, k: int) -> torch.Tensor:
        epoch, pos = divmod(k, self.batches_per_epoch)
        start = pos * self.batch_size
        return self._permutation(epoch)[start : start + self.batch_size]
