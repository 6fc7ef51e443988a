"""Sample grids during training, from fixed noise: the same latents at every step, so progress shows."""

from __future__ import annotations

from pathlib import Path

import torch

from ecogen.base.images import save_grid
from ecogen.training.hooks import Hooks, LoopState, RunContext

GRID_SIZE = 64


class Grids(Hooks):
    """A grid every ``sample_every`` steps, and ``latest.png`` at the end; a column per class."""

    writes = True

    def __init__(self, run: RunContext) -> None:
        gen = torch.Generator().manual_seed(run.config.seed + 1)
        self.noise = torch.randn(GRID_SIZE, run.config.model.latent_dim, generator=gen).to(run.device)
        k = run.num_classes
        self.labels = (torch.arange(GRID_SIZE) % k).to(run.device) if k else None

    def save(self, state: LoopState, run: RunContext, name: str, final: bool = False) -> Path:
        sampler = run.sampler(state.step, final)
        sampler.eval()
        with torch.no_grad():
            images = sampler(self.noise, self.labels)
        sampler.train()
        k = run.num_classes
        return save_grid(images, run.run_dir.samples / name, nrow=k if 0 < k <= 16 else 8)

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        if state.step % run.config.sample_every == 0:
            with run.account.tracker.phase("sample"):
                state.published["grid"] = self.save(state, run, f"step_{state.step:08d}.png")
        return None

    def at_end(self, state: LoopState, run: RunContext, stop_reason: str) -> None:
        with run.account.tracker.phase("sample"):
            state.published["grid"] = self.save(state, run, "latest.png", final=True)
