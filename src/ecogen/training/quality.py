"""Quality checks during training: metrics on fixed latents, eval.jsonl, the best checkpoint, the target."""

from __future__ import annotations

import copy
from typing import Any

import torch

from ecogen.base.batching import paired_chunks
from ecogen.base import jsonl
from ecogen.energy.precision import autocast
from ecogen.energy.record import training_wh
from ecogen.metrics.evaluate import Evaluator, parse_metrics
from ecogen.metrics.extractors.base import check_extractor_name
from ecogen.models import MODELS
from ecogen.training.hooks import Hooks, LoopState, RunContext
from ecogen.training.saving import save_checkpoint
from ecogen.training.targets import QualityTarget

CHUNK = 256


class QualityChecks(Hooks):
    """Every ``eval_every`` steps and at the end: metrics to eval.jsonl, the best checkpoint kept by the
    target's metric (``--checkpoint best``), and a stop when the target is met. It owns its evaluator (built
    at the first check, inside the eval phase) and its latents (own RNG: training noise is untouched)."""

    writes = True

    def __init__(self, every: int | None, run: RunContext) -> None:
        self.every = every
        self.evaluator: Evaluator | None = None
        self.target = QualityTarget.from_config(run.config)
        if every:  # fail on a bad metric or extractor name now, not mid-run
            parse_metrics(run.config.eval_metrics)
            check_extractor_name(run.config.eval_extractor)
        cfg = run.config
        self.noise = torch.randn(cfg.eval_n, cfg.model.latent_dim, generator=torch.Generator().manual_seed(cfg.seed + 2))
        k = run.num_classes
        self.labels = torch.arange(cfg.eval_n) % k if k else None

    def check(self, state: LoopState, run: RunContext) -> dict[str, Any]:
        """One check, logged to eval.jsonl (call it inside the eval phase)."""
        if self.evaluator is None:
            cfg = run.config
            self.evaluator = Evaluator.for_data(run.data, cfg.eval_extractor, parse_metrics(cfg.eval_metrics),
                                                run.device, seed=cfg.seed)
        sampler = run.sampler(state.step)
        if run.precision != "fp32":  # a bf16 run samples its checks in bf16, on a copy in the family's fast form
            sampler = MODELS.get(run.config.model.name).fast(copy.deepcopy(sampler), run.precision)
        sampler.eval()
        steps = getattr(sampler, "steps", None)  # diffusion and flow: checks use few steps, and say so
        if steps is not None:
            sampler.steps = run.config.model.check_steps
        with torch.no_grad(), autocast(run.precision, run.device):
            images = torch.cat([sampler(z.to(run.device), None if y is None else y.to(run.device)).float()
                                for z, y in paired_chunks(self.noise, self.labels, CHUNK)])
        if steps is not None:
            sampler.steps = steps
        sampler.train()
        scores = self.evaluator.score(images)
        wh, gco2, _ = run.account.totals()
        line = {"step": state.step, "seconds": round(state.elapsed, 3), "wh": wh,
                "wh_train": min(training_wh(run.account.phase_wh()), wh),  # a sum of phases can round past wh
                "gco2": gco2, **scores, **({"sampling_steps": run.config.model.check_steps} if steps is not None else {})}
        jsonl.append(run.run_dir.evals, line)
        return line

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        if not self.every or (state.step % self.every and not state.last_step):
            return None
        with run.account.tracker.phase("eval"):
            quality = self.check(state, run)
            state.published["quality"] = quality
            better, met = self.target.update(quality)
            run.account.quality = self.target.record()
            if better:  # with or without a target: `--checkpoint best` takes it
                save_checkpoint(state, run, "running", folder=run.run_dir.best)
        state.status["quality"] = "  ".join(f"{k} {quality[k]:.3g}" for k in ("fid", "kid") if k in quality)
        return f"target_{self.target.metric}" if met else None
