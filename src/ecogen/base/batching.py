"""Tensors and their optional labels, cut into batches together (sampling, checks and the ELBO all do)."""

from __future__ import annotations

from collections.abc import Iterator

import torch


def paired_chunks(x: torch.Tensor, labels: torch.Tensor | None,
                  size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """``x`` in chunks of ``size``, each with its labels' chunk (None throughout when there are none)."""
    chunks = x.split(size)
    return zip(chunks, labels.split(size) if labels is not None else [None] * len(chunks))
