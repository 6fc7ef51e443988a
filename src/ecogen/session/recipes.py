"""Named training recipes: documented presets of config fields (a registry; --recipe NAME)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecogen.config import TrainConfig, from_dict, merge
from ecogen.models import PRESETS
from ecogen.registry import Registry


@dataclass(frozen=True)
class Recipe:
    values: dict[str, Any]  # nested config values, applied before the config file and CLI options
    doc: str


RECIPES: Registry[Recipe] = Registry("recipe")

RECIPES.add("reference", Recipe(
    {
        "model": dict(PRESETS.get("seed")),
        "optim": {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999},
        "loss": "nonsaturating",  # BCE with real labels for G: the formulation the DCGAN tutorials use
        "batch_size": 64,
        "epochs": 10,
        "precision": "fp32",
        "channels_last": False,
    },
    "The widely copied DCGAN recipe, unchanged: seed architecture, Adam 2e-4 (0.5, 0.999), batch 64, "
    "BCE adversarial loss, fp32, a fixed 10 epochs, no early stop.",
))

RECIPES.add("green", Recipe(
    {
        # spectral D + hinge + Adam (0, 0.9): FID falls faster per step than with BatchNorm D and BCE
        "model": {**PRESETS.get("seed"), "width_mult": 0.5, "d_norm": "spectral"},
        "optim": {"lr_g": 8e-4, "lr_d": 8e-4, "beta1": 0.0, "beta2": 0.9},  # half-width nets take 4x the lr
        "loss": "hinge",
        "batch_size": 32,  # more, cheaper updates: the target comes after fewer images (64: 2.8x, 32: 5.6x)
        "epochs": 30,  # a cap: the run is meant to stop at its quality target long before
        "precision": "auto",
        "channels_last": True,
        "eval_every": 70,
        "eval_n": 250,  # cheap checks: together about 8% of the run's energy
        "eval_metrics": "fid",  # only what the usual target needs (--target-kid adds KID)
    },
    "ecogen's energy-for-quality choice on CPUs with bf16 units (measured: benchmarks/green_vs_reference.py): "
    "half-width networks at 4x the learning rate, batch 32, a spectrally normalised D with hinge loss and "
    "Adam (0, 0.9), bf16 autocast where probed faster, channels-last, and a 250-sample FID check every 70 "
    "steps so --target-fid/--target-kid stop the run as soon as the quality is reached (the best checkpoint "
    "is kept).",
))

RECIPES.add("colour", Recipe(
    # green's settings; of the changes tried on the emoji at equal energy (docs/green.md, "Colour: the
    # small-data trials"), only an EMA of G helped (Inception KID 0.85x on seed 0)
    {**RECIPES.get("green").values, "epochs": 60, "ema_decay": 0.999, "ema_warmup": True},
    "For small colour sets such as the emoji: green's settings with a warmed-up EMA of G (0.999) to sample "
    "from, 60 epochs, a 250-sample check every 70 steps keeping the best checkpoint. Chosen from trials at "
    "equal energy on the emoji (docs/green.md): no augmentation (D does not overfit at CPU budgets), half "
    "width, no R1, unconditional.",
))

RECIPES.add("quality", Recipe(
    {
        "model": {**PRESETS.get("seed"), "width_mult": 0.5, "d_norm": "spectral"},
        "optim": {"lr_g": 8e-4, "lr_d": 8e-4, "beta1": 0.0, "beta2": 0.9},
        "loss": "hinge",
        "batch_size": 32,
        "epochs": 30,
        "precision": "auto",
        "channels_last": True,
        "ema_decay": 0.995,  # sample from an average of G (its BatchNorm statistics recomputed: training/ema.py)
        "eval_every": 300,
        "eval_n": 1000,  # checks that tell the best checkpoint from noise: 1,000 samples
        "eval_metrics": "fid",
    },
    "The best FID per watt-hour at the high end (measured: docs/green.md, benchmarks/frontier.py): green's "
    "settings (half width at 4x the learning rate, batch 32, spectral D, hinge, Adam (0, 0.9), bf16 where "
    "faster, channels-last) with an EMA of G (0.995) to sample from, for 30 epochs, checked every 300 steps "
    "on 1,000 samples; the best checkpoint is kept (--checkpoint best).",
))

RECIPES.add("conditional", Recipe(
    {
        "model": {**PRESETS.get("seed"), "width_mult": 0.5, "conditional": True},
        "optim": {"lr_g": 8e-4, "lr_d": 8e-4, "beta1": 0.5, "beta2": 0.999},
        "loss": "nonsaturating",
        "batch_size": 32,
        "epochs": 20,
        "precision": "auto",
        "channels_last": True,
    },
    "The default for class-conditional GANs: a class is obeyed only after many more updates than an "
    "unconditional GAN needs (classifier accuracy on MNIST samples, full width, batch 64: 57% after 5 "
    "epochs, 67% after 10), so updates are made cheap: half width at 4x the learning rate, batch 32, bf16 "
    "where faster, channels-last, 20 epochs (benchmarks/conditional_accuracy.py).",
))


RECIPES.add("conditional-vae", Recipe(
    {
        "model": {"name": "vae", "width_mult": 0.5, "conditional": True, "recon": "bce"},
        "optim": {"lr_g": 2e-3, "beta1": 0.9, "beta2": 0.999},
        "batch_size": 32,
        "epochs": 30,
        "precision": "auto",
        "channels_last": True,
    },
    "The default for class-conditional VAEs: a Bernoulli likelihood (bce) for sharper digits, which the "
    "classifier then recognises (default VAE, 5 epochs: 21% accuracy), and cheap updates: half width, "
    "Adam 2e-3 (0.9, 0.999), batch 32, bf16 where faster, channels-last, 30 epochs "
    "(benchmarks/conditional_accuracy.py --model vae).",
))

RECIPES.add("mixture-vae", Recipe(
    {
        # a learnt decoder variance (Dai & Wipf 2019) sharpens reconstructions, and N(0, I) then misses the codes
        # the decoder reads; a 10-Gaussian mixture fitted to them puts samples back (benchmarks/vae_prior.py)
        # each refit starts from the last scheduled one: 4.9x cheaper a check on Fashion-MNIST, a resume still bitwise
        "model": {"name": "vae", "width_mult": 0.5, "recon": "gaussian", "prior": "mixture", "prior_components": 10,
                  "prior_refit": "warm"},
        "optim": {"lr_g": 2e-3, "beta1": 0.9, "beta2": 0.999},
        "batch_size": 32,
        "epochs": 30,
        "precision": "auto",
        "channels_last": True,
    },
    "The VAE for the best samples: a Gaussian decoder with one learnt variance, whose reconstructions sharpen "
    "as it falls, sampled from a 10-component Gaussian mixture fitted to codes of 10,000 training images before "
    "every check, grid and checkpoint, each fit starting from the last (N(0, I) samples from such a decoder are "
    "poor); half width, Adam 2e-3 (0.9, 0.999), batch 32, bf16 where faster, channels-last, 30 epochs. Latent "
    "paths between components switch component at one point: --prior fitted keeps them smooth.",
))

# family -> (its own model fields, what they say in the description)
_ITERATIVE = {
    # v, not epsilon: at 0.26 Wh FID 29.3 for 711.5 at 8 steps (benchmarks/diffusion_trials.py)
    "diffusion": ({"prediction": "v"}, ", predicting v (epsilon lagged far behind at CPU budgets)"),
    "flow": ({}, ""),
}
for _family, (_model, _target) in _ITERATIVE.items():
    RECIPES.add(_family, Recipe(
        {
            "model": {"name": _family, "width_mult": 0.25, **_model},  # 16/32/32 channels: a CPU trains it at all
            "optim": {"lr_g": 5e-4, "beta1": 0.9, "beta2": 0.999},
            "batch_size": 64,
            "epochs": 20,
            "ema_decay": 0.999,  # sample from an average of the weights, as diffusion models do
            "ema_warmup": True,  # ... that forgets the random start within a short CPU run
            "precision": "auto",
            "eval_every": 300,
            "eval_n": 1000,
            "eval_metrics": "fid",
        },
        f"The default for {_family} models: a small UNet (16 channels at full resolution, 32 below, attention at "
        f"the lowest level){_target}, Adam 5e-4 (0.9, 0.999), batch 64, an EMA of the weights (0.999, warmed up) "
        f"to sample from, bf16 where faster, 20 epochs, checked every 300 steps on 1,000 samples at --check-steps (8) sampling steps.",
    ))

# Which recipe a run gets when none is named, by (model name, conditional); other runs get none.
DEFAULT_RECIPES = {("dcgan", True): "conditional", ("vae", True): "conditional-vae",
                   **{(name, cond): name for name in ("diffusion", "flow") for cond in (False, True)}}


def default_recipe(values: dict[str, Any]) -> str | None:
    """The recipe a run gets when none is named: the conditional ones for class-conditional models."""
    model = values.get("model") or {}
    return DEFAULT_RECIPES.get((model.get("name", "dcgan"), bool(model.get("conditional"))))


def recipe_config(name: str, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """A recipe's config with ``overrides`` (nested or dotted keys) on top: the API's ``--recipe``."""
    return from_dict(TrainConfig, {**merge(RECIPES.get(name).values, overrides or {}), "recipe": name})
