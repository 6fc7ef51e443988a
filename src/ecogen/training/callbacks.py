"""The schedule around training steps: stops, learning rates, the shared bill, carbon ticks, failures.

``Trainer.run`` only steps; everything else is a callback (hooks.py) that owns its work: log lines
(logs.py), grids (grids.py), quality checks (quality.py), checkpoints (saving.py), the EMA (ema.py).
Callbacks that write files say so (``writes = True``), so a distributed run gives those to one process.
"""

from __future__ import annotations

from typing import Any

import torch

from ecogen.training.ema import EmaUpdates
from ecogen.training.grids import Grids
from ecogen.training.hooks import Callback, Hooks, LoopState, RunContext
from ecogen.training.logs import LogLines
from ecogen.training.quality import QualityChecks
from ecogen.training.saving import FAILED, Checkpoints
from ecogen.training.schedule import lr_factor, set_learning_rates


class Stops(Hooks):
    """Ctrl-C / SIGTERM (finish the step, then stop) and the energy, carbon and time budgets."""

    def __init__(self, stop_flag: Any) -> None:
        self.stop_flag = stop_flag

    def before_step(self, state: LoopState, run: RunContext) -> str | None:
        budget = run.account.budget_reason()  # on every rank, every step: the sum over ranks is a collective
        return "interrupted" if self.stop_flag.requested else budget


class LearningRates(Hooks):
    """The configured decay of every optimizer's learning rate, set from the step before each step."""

    def before_step(self, state: LoopState, run: RunContext) -> str | None:
        optim = run.config.optim
        if optim.decay != "none":
            set_learning_rates(run.optimizers, run.base_lrs,
                               lr_factor(optim.decay, optim.decay_start, state.step, state.total_steps))
        return None


class ShareBill(Hooks):
    """Several processes: every rank's energy so far goes to rank 0 just before rank 0 may write run.json
    (checkpoints, quality checks, the end). It runs before the hooks that may stop the run, so every rank
    reaches the gather at the same steps whatever those decide."""

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        step, cfg = state.step, run.config
        due = step % cfg.checkpoint_every == 0 or step % cfg.log_every == 0 or state.last_step
        if run.dist.enabled and (due or (cfg.eval_every and step % cfg.eval_every == 0)):
            run.account.gather()
        return None

    def at_end(self, state: LoopState, run: RunContext, stop_reason: str) -> None:
        if run.dist.enabled:
            run.account.gather()


class CarbonTicks(Hooks):
    """With an intensity file: the energy of each step is charged to the hour it was used in."""

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        run.account.tick()
        return None


class Divergence(Hooks):
    """A non-finite loss, or one past ``LIMIT`` (logits in the billions: a learning rate far too large),
    stops the run within the step it appears in (``diverged``). A discriminator pinned at a loss of 0
    for ``PINNED_STEPS`` steps in a row has won outright: G gets no gradient and only gets worse
    (``collapsed``; seen with --lr-g 10 --lr-d 10: loss_d 0.0, loss_g 2e5). Either way the final
    checkpoint is not written, so the last good one stays the latest (saving.FAILED)."""

    LIMIT = 1e6  # GAN losses are O(1-10), a VAE's negative ELBO O(10^3) per image at these sizes
    PINNED = 1e-4  # every registered D loss is >= 0 and O(1) while D and G still play
    PINNED_STEPS = 20

    def __init__(self) -> None:
        self.pinned = 0

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        losses = [v.detach().float().reshape(-1) for v in state.last_metrics.values()]
        if not losses:
            return None
        loss_d = state.last_metrics.get("loss_d")
        pinned = (loss_d.detach().float() < self.PINNED) if loss_d is not None else torch.tensor(False)
        # one transfer to the host per step for both checks (a GPU syncs here once, not twice)
        finite, pinned_now = torch.stack([(torch.cat(losses).abs() < self.LIMIT).all(),  # NaN compares False
                                          pinned.to(losses[0].device).reshape(())]).tolist()
        if not finite:
            return "diverged"
        self.pinned = self.pinned + 1 if pinned_now else 0
        return "collapsed" if self.pinned >= self.PINNED_STEPS else None


def default_callbacks(stop_flag: Any, run: RunContext, sampler_name: str, update_phase: str = "g_step") -> list[Callback]:
    """The schedule every run gets, in the order the hooks run (``update_phase``: where the sampler's
    updates are billed, so its EMA goes there too)."""
    return [Stops(stop_flag), LearningRates(), EmaUpdates(sampler_name, update_phase), ShareBill(), CarbonTicks(), Divergence(),
            LogLines(), Grids(run), QualityChecks(run.config.eval_every, run), Checkpoints()]


__all__ = ["FAILED", "Callback", "Hooks", "default_callbacks"]
