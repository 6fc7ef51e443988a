"""Log lines: mean losses since the last line, throughput, FLOP/s and energy, to log.jsonl and the bar."""

from __future__ import annotations

import time
from typing import Any

import torch

from ecogen.base import jsonl
from ecogen.training.hooks import Hooks, LoopState, RunContext

SHOWN = ("loss_d", "loss_g", "loss", "kl")


class LogLines(Hooks):
    """Every ``log_every`` steps and at the end. ``last`` is the latest line (the run's result shows it)."""

    writes = True

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0
        self.window: tuple[float, int] | None = None
        self.last: dict[str, Any] = {}

    def line(self, state: LoopState, run: RunContext, steps_per_s: float) -> dict[str, Any]:
        wh, gco2, _ = run.account.totals()
        rate = state.flops_per_step * steps_per_s
        return {
            "step": state.step,
            "epoch": round(state.epoch, 4),
            **{k: round(float(v) / self.count, 6) for k, v in self.sums.items()},
            "images_per_s": round(steps_per_s * state.images_per_batch * state.batches_per_step, 2),
            "gflop_per_s": round(rate / 1e9, 3),
            **({"peak_share": round(rate / run.account.peak, 4)} if run.account.peak else {}),
            "seconds": round(state.elapsed, 3),
            "wh": round(wh, 6),
            "gco2": round(gco2, 6),
        }

    @staticmethod
    def describe(line: dict[str, Any], state: LoopState, run: RunContext, steps_per_s: float) -> str:
        """The progress bar's text: losses, throughput, FLOP/s (and share of peak) and Wh so far."""
        info = "  ".join(f"{k} {line[k]:.3f}" for k in SHOWN if k in line)
        rate = state.flops_per_step * steps_per_s
        util = f" ({rate / run.account.peak:.0%} of peak)" if run.account.peak else ""
        return f"{info}  {line['images_per_s']:,.0f} img/s  {rate / 1e9:.1f} GFLOP/s{util}  {line['wh']:.3f} Wh"

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        if self.window is None:
            self.window = (state.session_start, state.step - 1)
        for k, v in state.last_metrics.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v.clone()
        self.count += 1
        if state.step % run.config.log_every == 0 or state.last_step:
            now = time.perf_counter()
            start, start_step = self.window
            steps_per_s = (state.step - start_step) / max(now - start, 1e-9)
            self.last = self.line(state, run, steps_per_s)
            jsonl.append(run.run_dir.log, self.last)
            state.published["log"] = self.last
            state.status["train"] = self.describe(self.last, state, run, steps_per_s)
            self.sums, self.count, self.window = {}, 0, (now, state.step)
        return None
