"""What happens around training steps: stops, logs, grids, quality checks, checkpoints, plots.

``Trainer.run`` only steps; everything else is a callback with three hooks. Callbacks that write files
say so (``writes = True``), so a distributed run can give those to one process alone.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

import torch

from ecogen.base import jsonl
from ecogen.training.schedule import lr_factor, set_learning_rates

if TYPE_CHECKING:  # the loop, for type checkers only: callbacks receive it, they do not import it
    from ecogen.training.loop import Trainer


class Callback(Protocol):
    writes: bool  # writes files: in a distributed run, only the writing process gets it

    def before_step(self, trainer: Trainer) -> str | None:
        """A stop reason ends the run before the next step."""

    def after_step(self, trainer: Trainer) -> str | None:
        """Called after every step; a stop reason ends the run."""

    def at_end(self, trainer: Trainer, stop_reason: str) -> None:
        """Called once, still inside the energy tracker, before the final record."""


class Hooks:
    """No-op hooks to inherit from."""

    writes = False

    def before_step(self, trainer: Trainer) -> str | None:
        return None

    def after_step(self, trainer: Trainer) -> str | None:
        return None

    def at_end(self, trainer: Trainer, stop_reason: str) -> None:
        return None


class Stops(Hooks):
    """Ctrl-C / SIGTERM (finish the step, then stop) and the energy, carbon and time budgets."""

    def __init__(self, stop_flag: Any) -> None:
        self.stop_flag = stop_flag

    def before_step(self, trainer: Trainer) -> str | None:
        budget = trainer.account.budget_reason()  # on every rank, every step: the sum over ranks is a collective
        return "interrupted" if self.stop_flag.requested else budget


class LearningRates(Hooks):
    """The configured decay of every optimizer's learning rate, set from the step before each step."""

    def before_step(self, trainer: Trainer) -> str | None:
        optim = trainer.config.optim
        if optim.decay != "none":
            set_learning_rates(trainer.family.optimizers, trainer.base_lrs,
                               lr_factor(optim.decay, optim.decay_start, trainer.step, trainer.total_steps))
        return None


class ShareBill(Hooks):
    """Several processes: every rank's energy so far goes to rank 0 just before rank 0 may write run.json
    (checkpoints, quality checks, the end). It runs first among after-step hooks, so every rank reaches
    the gather at the same steps whatever the later hooks decide."""

    def after_step(self, trainer: Trainer) -> str | None:
        step, cfg = trainer.step, trainer.config
        due = step % cfg.checkpoint_every == 0 or step % cfg.log_every == 0 or step == trainer.total_steps
        if trainer.dist.enabled and (due or (trainer.eval_every and step % trainer.eval_every == 0)):
            trainer.account.gather()
        return None

    def at_end(self, trainer: Trainer, stop_reason: str) -> None:
        if trainer.dist.enabled:
            trainer.account.gather()


class CarbonTicks(Hooks):
    """With an intensity file: the energy of each step is charged to the hour it was used in."""

    def after_step(self, trainer: Trainer) -> str | None:
        trainer.account.tick()
        return None


FAILED = ("diverged", "collapsed")  # stops whose model is not kept as the latest


class Divergence(Hooks):
    """A non-finite loss, or one past ``LIMIT`` (logits in the billions: a learning rate far too large),
    stops the run within the step it appears in (``diverged``). A discriminator pinned at a loss of 0
    for ``PINNED_STEPS`` steps in a row has won outright: G gets no gradient and only gets worse
    (``collapsed``; seen with --lr-g 10 --lr-d 10: loss_d 0.0, loss_g 2e5). Either way the final
    checkpoint is not written, so the last good one stays the latest."""

    LIMIT = 1e6  # GAN losses are O(1-10), a VAE's negative ELBO O(10^3) per image at these sizes
    PINNED = 1e-4  # every registered D loss is >= 0 and O(1) while D and G still play
    PINNED_STEPS = 20

    def __init__(self) -> None:
        self.pinned = 0

    def after_step(self, trainer: Trainer) -> str | None:
        losses = [v.detach().float().reshape(-1) for v in trainer.last_metrics.values()]
        if losses and not bool((torch.cat(losses).abs() < self.LIMIT).all()):  # NaN compares False
            return "diverged"
        loss_d = trainer.last_metrics.get("loss_d")
        self.pinned = self.pinned + 1 if loss_d is not None and float(loss_d) < self.PINNED else 0
        return "collapsed" if self.pinned >= self.PINNED_STEPS else None


class LogLines(Hooks):
    """Every ``log_every`` steps: mean losses, throughput, FLOP/s and energy to log.jsonl and the bar."""

    writes = True

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0
        self.window: tuple[float, int] | None = None

    def after_step(self, trainer: Trainer) -> str | None:
        if self.window is None:
            self.window = (trainer.session_start, trainer.step - 1)
        for k, v in trainer.last_metrics.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v.clone()
        self.count += 1
        if trainer.step % trainer.config.log_every == 0 or trainer.step == trainer.total_steps:
            now = time.perf_counter()
            start, start_step = self.window
            steps_per_s = (trainer.step - start_step) / max(now - start, 1e-9)
            trainer.last_line = trainer.log_line(self.sums, self.count, steps_per_s)
            jsonl.append(trainer.run_dir.log, trainer.last_line)
            trainer.status["train"] = trainer.describe(trainer.last_line, steps_per_s)
            self.sums, self.count, self.window = {}, 0, (now, trainer.step)
        return None


class Grids(Hooks):
    """A grid from fixed noise every ``sample_every`` steps, and ``latest.png`` at the end."""

    writes = True

    def after_step(self, trainer: Trainer) -> str | None:
        if trainer.step % trainer.config.sample_every == 0:
            with trainer.account.tracker.phase("sample"):
                trainer.save_grid(f"step_{trainer.step:08d}.png")
        return None

    def at_end(self, trainer: Trainer, stop_reason: str) -> None:
        with trainer.account.tracker.phase("sample"):
            trainer.save_grid("latest.png")


class QualityChecks(Hooks):
    """Every ``eval_every`` steps: metrics on fixed latents to eval.jsonl, the best checkpoint kept by the
    target's metric, and a stop when the target is met."""

    writes = True

    def after_step(self, trainer: Trainer) -> str | None:
        every = trainer.eval_every
        if not every or (trainer.step % every and trainer.step != trainer.total_steps):
            return None
        with trainer.account.tracker.phase("eval"):
            quality = trainer.evaluate()
            better, met = trainer.target.update(quality)
            if better:  # with or without a target: `--checkpoint best` takes it
                trainer.save_checkpoint("running", folder=trainer.run_dir.best)
        trainer.status["quality"] = "  ".join(f"{k} {quality[k]:.3g}" for k in ("fid", "kid") if k in quality)
        return f"target_{trainer.target.metric}" if met else None


class Checkpoints(Hooks):
    """Every ``checkpoint_every`` steps, and at the end with the stop reason (with run.json each time)."""

    writes = True

    def after_step(self, trainer: Trainer) -> str | None:
        if trainer.step % trainer.config.checkpoint_every == 0 and trainer.step < trainer.total_steps:
            with trainer.account.tracker.phase("checkpoint"):
                trainer.save_checkpoint("running")
        return None

    def at_end(self, trainer: Trainer, stop_reason: str) -> None:
        if stop_reason in FAILED:  # never save a broken model as the latest; record the stop only
            trainer.account.write(stop_reason, trainer.step, trainer.train_images)
            return
        with trainer.account.tracker.phase("checkpoint"):
            trainer.save_checkpoint(stop_reason)


def default_callbacks(stop_flag: Any) -> list[Callback]:
    """The schedule every run gets, in the order the hooks run."""
    return [Stops(stop_flag), LearningRates(), ShareBill(), CarbonTicks(), Divergence(), LogLines(), Grids(),
            QualityChecks(), Checkpoints()]
