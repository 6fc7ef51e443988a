"""FLOPs counted by PyTorch's own FlopCounterMode (matmuls and convolutions, forward and backward)."""

from __future__ import annotations

from collections.abc import Callable

from torch.utils.flop_counter import FlopCounterMode


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` (it runs once, for real)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())
