"""``ecogen train``'s config options, listed once: name, config key, help and group.

The option's type and default come from the config's own types (``TrainConfig``), the choices of
registry-backed fields from the registries' catalog (``ecogen.base.catalog``, no torch import), and the command's signature is built from this table,
so a new config field is one line here.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Optional

import typer

from ecogen.base.catalog import names
from ecogen.config import TrainConfig


@dataclass(frozen=True)
class Opt:
    key: str  # dotted TrainConfig field
    help: str
    group: str
    choices: Callable[[], list[str]] | None = None  # a registry's names, read when help is shown
    flag: str | None = None  # a boolean's "--on/--off" spelling
    names: tuple[str, ...] = ()  # spellings when not just --the-name


def _names(kind: str, *extra: str) -> Callable[[], list[str]]:
    return lambda: names(kind, *extra)


DATA, MODEL, OPTIM, SCHEDULE, ENERGY, QUALITY, SPEED, SCALE = (
    "Data", "Model", "Optimisation", "Schedule", "Energy and budgets", "Quality checks and targets", "Speed",
    "Several processes (torchrun)")

TRAIN_OPTIONS: dict[str, Opt] = {
    "data": Opt("data.source", "Images (folder:, npz:, cifar10: take a path; emoji:FONT optional).", DATA, _names("source")),
    "image_size": Opt("data.image_size", "Square image size the model works at.", DATA),
    "channels": Opt("data.channels", "1 or 3 (default: the data's own).", DATA),
    "fit": Opt("data.fit", "How images reach --image-size.", DATA),
    "holdout": Opt("data.holdout", "Held-out share for evaluation.", DATA),
    "split_seed": Opt("data.split_seed", "Seed of the train / held-out split.", DATA),
    "background": Opt("data.background", "Colour behind transparent pixels (emoji, RGBA files): a name or #RRGGBB.",
                      DATA),
    "model": Opt("model.name", "Model.", MODEL, _names("model")),
    "latent_dim": Opt("model.latent_dim", "Latent dimensions.", MODEL),
    "width_mult": Opt("model.width_mult", "Channel width multiplier (1.0 = 64 at full resolution).", MODEL),
    "d_downsample": Opt("model.d_downsample", "How D downsamples.", MODEL),
    "g_depth": Opt("model.g_depth", "Extra 3x3 conv layers after each of G's upsamplings (depth at the same width).", MODEL),
    "g_upsample": Opt("model.g_upsample", "How G doubles the resolution: transposed conv, or nearest + 3x3 conv.",
                      MODEL),
    "d_mbstd": Opt("model.d_mbstd", "D sees the feature spread of groups of this many images (minibatch std; 0: off).",
                   MODEL),
    "d_norm": Opt("model.d_norm", "Normalisation in D (spectral: spectral norm, no BatchNorm).", MODEL),
    "conditional": Opt("model.conditional", "Class-conditional model (needs labelled data).", MODEL,
                       flag="--conditional/--unconditional"),
    "beta": Opt("model.beta", "VAE: weight of the KL term (1.0 = the ELBO).", MODEL),
    "recon": Opt("model.recon", "VAE likelihood: Gaussian of unit variance (mse), Bernoulli (bce), Gaussian of a "
                 "learnt variance (gaussian).", MODEL),
    "kl_warmup": Opt("model.kl_warmup", "VAE: steps over which KL's weight ramps up from 0.", MODEL),
    "prior": Opt("model.prior", "VAE: sample from N(0, I) (standard), or from a Gaussian (fitted) or a mixture "
                 "(mixture) fitted to the training images' codes.", MODEL),
    "prior_components": Opt("model.prior_components", "VAE: the Gaussians of --prior mixture.", MODEL),
    "prior_refit": Opt("model.prior_refit", "VAE: refit --prior mixture afresh (scratch) or from its last "
                       "fit (warm: 5x cheaper); both resume bitwise.", MODEL),
    "sample_steps": Opt("model.sample_steps", "Diffusion and flow: sampling steps of grids and `ecogen sample`.", MODEL),
    "check_steps": Opt("model.check_steps", "Diffusion and flow: the few sampling steps of quality checks.", MODEL),
    "schedule": Opt("model.schedule", "Diffusion: the noise schedule.", MODEL),
    "prediction": Opt("model.prediction", "Diffusion: the network predicts the noise (epsilon) or v.", MODEL),
    "solver": Opt("model.solver", "Flow: the ODE solver of sampling.", MODEL),
    "loss": Opt("loss", "GAN loss.", OPTIM, _names("loss")),
    "lr_g": Opt("optim.lr_g", "Generator (or VAE) learning rate.", OPTIM),
    "lr_d": Opt("optim.lr_d", "Discriminator learning rate.", OPTIM),
    "beta1": Opt("optim.beta1", "Adam beta1.", OPTIM),
    "beta2": Opt("optim.beta2", "Adam beta2.", OPTIM),
    "lr_decay": Opt("optim.decay", "Learning-rate decay to 0 at the run's end.", OPTIM),
    "decay_start": Opt("optim.decay_start", "Share of the run at the full rate before the decay starts.", OPTIM),
    "r1_gamma": Opt("r1_gamma", "GAN: R1 penalty weight on D's gradient at real images (0: off).", OPTIM),
    "r1_every": Opt("r1_every", "GAN: apply R1 every N-th D update (lazy R1).", OPTIM),
    "batch_size": Opt("batch_size", "Images per step and process (torchrun: the global batch is N x this).", OPTIM),
    "d_steps": Opt("d_steps", "Discriminator steps per generator step.", OPTIM),
    "augment": Opt("augment", "GAN: DiffAugment policy for D, a comma list.", OPTIM, _names("augment", "none")),
    "ada_target": Opt("ada_target", "GAN: adapt how often --augment applies (ADA) to keep E[sign D(real)] "
                      "at this target, e.g. 0.6.", OPTIM),
    "ada_kimg": Opt("ada_kimg", "GAN: thousands of images over which ADA's probability may go from 0 to 1.", OPTIM),
    "ema_decay": Opt("ema_decay", "Keep an EMA of the generator (e.g. 0.999) and sample from it.", OPTIM),
    "ema_warmup": Opt("ema_warmup", "Ramp the EMA decay as (1+t)/(10+t) up to --ema-decay.", OPTIM, flag="--ema-warmup/--no-ema-warmup"),
    "epochs": Opt("epochs", "Passes over the training split.", SCHEDULE),
    "steps": Opt("steps", "Generator steps; overrides --epochs.", SCHEDULE),
    "seed": Opt("seed", "Seed of weights, batch order and noise.", SCHEDULE),
    "device": Opt("device", "auto | cpu | cuda | cuda:N.", SCHEDULE),
    "log_every": Opt("log_every", "Steps between log lines.", SCHEDULE),
    "sample_every": Opt("sample_every", "Steps between sample grids.", SCHEDULE),
    "checkpoint_every": Opt("checkpoint_every", "Steps between checkpoints.", SCHEDULE),
    "keep_checkpoints": Opt("keep_checkpoints", "Checkpoints kept.", SCHEDULE),
    "sensors": Opt("energy.sensors", "Energy sensors: auto, or a comma list.", ENERGY, _names("sensor", "auto")),
    "country": Opt("energy.country", "ISO 3166 alpha-3 country for grid carbon intensity.", ENERGY),
    "carbon_intensity": Opt("energy.carbon_intensity", "gCO2eq per kWh; overrides --country.", ENERGY),
    "intensity": Opt("energy.intensity", "Grid intensity over time (CSV time,gco2_per_kwh or Carbon Aware SDK JSON): "
                     "gCO2 is summed interval by interval; the yearly mean applies outside it.", ENERGY),
    "pue": Opt("energy.pue", "Data-centre power usage effectiveness (>= 1).", ENERGY),
    "cpu_watts": Opt("energy.cpu_watts", "Estimate sensor: W of all usable cores at full load.", ENERGY),
    "max_wh": Opt("energy.max_wh", "Stop cleanly once the run has used this many Wh.", ENERGY),
    "max_gco2": Opt("energy.max_gco2", "Stop cleanly at this many gCO2eq.", ENERGY),
    "max_seconds": Opt("energy.max_seconds", "Stop cleanly after this many training seconds.", ENERGY),
    "eval_every": Opt("eval_every", "Check quality every N steps (logged with the Wh spent).", QUALITY),
    "eval_n": Opt("eval_n", "Generated images per quality check.", QUALITY),
    "eval_metrics": Opt("eval_metrics", "Metrics for the checks, a comma list.", QUALITY, _names("metric")),
    "eval_extractor": Opt("eval_extractor", "Features for the checks (inception:PATH, classifier:PATH take "
                          "a path).", QUALITY, _names("extractor", "auto")),
    "target_fid": Opt("target_fid", "Stop once FID reaches this; the best checkpoint is kept.", QUALITY),
    "target_kid": Opt("target_kid", "Stop once KID reaches this.", QUALITY),
    "precision": Opt("precision", "bf16 autocast; auto: where this device runs it faster.", SPEED),
    "channels_last": Opt("channels_last", "Channels-last memory layout.", SPEED,
                         flag="--channels-last/--no-channels-last"),
    "log": Opt("trackers", "Experiment tracker to feed (repeat for several): tensorboard[:DIR] (RUN/tb), "
               "mlflow[:URI] (./mlruns), wandb[:PROJECT] (offline unless W&B is set up). Under torchrun spell it "
               "--tracker (torchrun takes --log for its own --log-dir).", SCHEDULE, _names("tracker"),
               names=("--log", "--tracker")),
    "ddp_backend": Opt("dist.backend", "Process-group backend; auto: nccl when each rank has its own GPU, else gloo.",
                       SCALE),
    "ddp_timeout": Opt("dist.timeout_s", "Seconds a rank waits for the others before it stops with an error.",
                       SCALE),
    "sync_bn": Opt("dist.sync_bn", "BatchNorm statistics over the global batch (CUDA).", SCALE,
                   flag="--sync-bn/--no-sync-bn"),
}


def _field_type(key: str) -> tuple[type, list[str]]:
    """The plain type a config field takes on the command line, and its Literal choices if any."""
    cls: Any = TrainConfig
    for part in key.split("."):
        hint = typing.get_type_hints(cls)[part]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        cls = fields[part].default_factory if dataclasses.is_dataclass(hint) else hint
    args = [a for a in typing.get_args(cls) if a is not type(None)] if _is_union(cls) else [cls]
    tp = args[0]
    if typing.get_origin(tp) is Literal:
        values = typing.get_args(tp)
        return type(values[0]), [str(v) for v in values]
    return tp, []


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _default(key: str) -> Any:
    value: Any = TrainConfig()
    for part in key.split("."):
        value = getattr(value, part)
    return value


def train_parameters() -> list[inspect.Parameter]:
    """The config options as keyword parameters for Typer (each defaults to None: not given)."""
    params = []
    for name, opt in TRAIN_OPTIONS.items():
        tp, literal = _field_type(opt.key)
        choices = opt.choices() if opt.choices else literal
        text = opt.help + (f" One of: {', '.join(choices)}." if choices else "")
        default = _default(opt.key)
        if default is not None and opt.flag is None:
            text += f" Default: {default}."
        decls = (opt.flag,) if opt.flag else opt.names
        info = typer.Option(None, *decls, help=text, rich_help_panel=opt.group, show_default=False)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=Optional[tp]))
    return params


def overrides(options: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave, as dotted config keys."""
    return {TRAIN_OPTIONS[k].key: list(v) if isinstance(v, (list, tuple)) else v for k, v in options.items()
            if k in TRAIN_OPTIONS and v is not None and v != [] and v != ()}
