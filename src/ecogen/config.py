"""Typed, frozen configuration: what to train, validated once, saved with every run.

Pydantic dataclasses give us frozen dataclasses whose types and ranges are checked on construction,
so an unknown key or an ill-typed value is an error naming it (``train.batch_size: ...``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import ConfigDict, Field, Strict, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from ecogen.errors import ConfigError

_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # inf and nan are never a setting

# Whole numbers and switches are taken only as themselves: `steps: true` is not 1 step, nor `"5"` five.
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
COUNT_MAX = 10**9  # steps, epochs, intervals: a billion is past any run; 10^30 is a typo
SEED_MAX = 2**32 - 1  # seeds are mixed with steps and ranks; 32 bits keep every mix inside a signed 64-bit int
Positive = Annotated[Int, Field(gt=0, le=COUNT_MAX)]
Seed = Annotated[Int, Field(ge=0, le=SEED_MAX)]
PositiveFloat = Annotated[float, Field(gt=0)]


@dataclass(config=_STRICT)
class DataConfig:
    """Where images come from and how they are fitted to the model."""

    source: str = "mnist"  # mnist | digits | faces | emoji[:FONT] | cifar10:PATH | folder:PATH | npz:PATH
    image_size: Annotated[Int, Field(gt=0, le=1024)] = 32  # beyond 1024 px a DCGAN is not the tool
    channels: Literal[1, 3] | None = None  # None: the source's own channel count
    fit: Literal["auto", "resize", "pad"] = "auto"  # auto: pad small gaps, resize large ones
    holdout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    split_seed: Seed = 0
    background: Annotated[str, Field(min_length=1, max_length=40)] = "white"  # behind transparent pixels (emoji, RGBA)


@dataclass(config=_STRICT)
class ModelConfig:
    """Architecture; the checkpoint stores it so a model is always rebuilt from its file."""

    name: str = "dcgan"
    latent_dim: Annotated[Int, Field(gt=0, le=16384)] = 100
    width_mult: Annotated[float, Field(gt=0, le=16)] = 1.0  # channel widths scale from 64 at the highest resolution
    d_downsample: Literal["stride", "avgpool"] = "stride"
    # BatchNorm after every D conv but the first (DCGAN), or spectral normalisation of every D conv
    d_norm: Literal["none", "batch", "spectral"] = "batch"
    conditional: Bool = False  # class-conditional G/D or VAE (labels from the data)
    classes: list[str] | None = None  # filled from the data's labels when a conditional run starts
    g_conditioning: Literal["input", "batchnorm"] = "input"  # class at G's input only, or in every BatchNorm too
    g_depth: Annotated[Int, Field(ge=0, le=4)] = 0  # extra 3x3 conv + BN + ReLU layers after each upsampling of G
    g_upsample: Literal["transposed", "nearest"] = "transposed"  # G's doublings: ConvTranspose k4 s2, or nearest + 3x3
    d_mbstd: Annotated[Int, Field(ge=0, le=64)] = 0  # GAN D: minibatch-std groups of this many images (0: off)
    d_conditioning: Literal["concat", "projection", "both"] = "concat"  # how D sees the class
    aux_classifier: Bool = False  # conditional GAN: D also classifies (AC-GAN); measured worse here (35% vs 57%)
    # VAE only: the negative ELBO is recon + beta x KL; KL's weight ramps from 0 over kl_warmup steps.
    beta: Annotated[float, Field(ge=0)] = 1.0
    # Gaussian with unit variance (sum of squares / 2), Bernoulli, or Gaussian with one learnt variance
    recon: Literal["mse", "bce", "gaussian"] = "mse"
    kl_warmup: Annotated[Int, Field(ge=0, le=COUNT_MAX)] = 0
    # sample z ~ N(0, I), or from a Gaussian or a mixture of prior_components Gaussians fitted to the training
    # images' codes (models/latent_prior.py)
    prior: Literal["standard", "fitted", "mixture"] = "standard"
    prior_components: Annotated[Int, Field(ge=2, le=100)] = 10
    # a mixture's refit afresh or from the last scheduled fit (5x cheaper; a stopped run's own last fit is not
    # the next start, so a resume is bitwise either way)
    prior_refit: Literal["scratch", "warm"] = "scratch"
    # diffusion and flow only: sampling steps (the quality/energy dial; `ecogen sample --steps` overrides),
    # the few steps quality checks during training use, and the process's settings
    sample_steps: Annotated[Int, Field(gt=0, le=1000)] = 32
    check_steps: Annotated[Int, Field(gt=0, le=1000)] = 8
    schedule: Literal["linear", "cosine"] = "cosine"  # diffusion: the noise schedule
    prediction: Literal["epsilon", "v"] = "epsilon"  # diffusion: what the network predicts
    solver: Literal["euler", "heun"] = "euler"  # flow: the ODE solver


@dataclass(config=_STRICT)
class OptimConfig:
    lr_g: PositiveFloat = 2e-4
    lr_d: PositiveFloat = 2e-4
    beta1: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.5
    beta2: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.999
    decay: Literal["none", "linear", "cosine"] = "none"  # learning rates fall to 0 at the run's end
    decay_start: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0  # the share of the run at the full rate first


@dataclass(config=_STRICT)
class EnergyConfig:
    """How energy is measured and priced, and the budgets that stop training."""

    sensors: str = "auto"  # auto (best available per domain) or a comma list: rapl, nvml, estimate, codecarbon
    country: str | None = None  # ISO 3166 alpha-3 for the bundled grid-intensity table
    carbon_intensity: Annotated[float, Field(ge=0)] | None = None  # gCO2eq/kWh; overrides country
    pue: Annotated[float, Field(ge=1.0)] = 1.0
    intensity: str | None = None  # a file of grid intensity over time (CSV or Carbon Aware SDK JSON): see docs
    cpu_watts: PositiveFloat | None = None  # for the estimate sensor: all usable cores at full load
    max_wh: PositiveFloat | None = None
    max_gco2: PositiveFloat | None = None
    max_seconds: PositiveFloat | None = None


@dataclass(config=_STRICT)
class DistConfig:
    """Used only when torchrun launched the run (see training/distributed.py); one process ignores it."""

    backend: Literal["auto", "gloo", "nccl"] = "auto"  # auto: nccl when each process has its own GPU, else gloo
    timeout_s: Annotated[float, Field(gt=0, le=86_400)] = 600.0  # a collective waits this long for a dead rank
    sync_bn: Bool = False  # BatchNorm statistics over the global batch (CUDA only)


@dataclass(config=_STRICT)
class TrainConfig:
    """Everything that determines a training run (the output folder is not part of it)."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    energy: EnergyConfig = dataclasses.field(default_factory=EnergyConfig)
    dist: DistConfig = dataclasses.field(default_factory=DistConfig)
    loss: str = "nonsaturating"
    batch_size: Annotated[Int, Field(gt=0, le=65536)] = 64  # per process: torchrun's global batch is N x this
    epochs: Positive | None = 5
    steps: Positive | None = None  # when set, overrides epochs
    d_steps: Annotated[Int, Field(gt=0, le=100)] = 1  # discriminator updates per generator update
    seed: Seed = 0
    device: str = "auto"
    log_every: Positive = 50
    sample_every: Positive = 500
    checkpoint_every: Positive = 1000
    keep_checkpoints: Positive = 3
    eval_every: Positive | None = None  # steps between quality checks (None: never; 100 when a target is set)
    eval_n: Annotated[Int, Field(ge=2, le=1_000_000)] = 500  # generated images per check
    eval_metrics: str = "fid,kid"
    eval_extractor: str = "auto"  # auto (mnist grey, emoji colour) | mnist | emoji | inception[:PATH] | classifier:PATH
    # Quality targets: checked at every quality check (every eval_every steps, set to DEFAULT_CHECK_INTERVAL
    # when only a target is given); the run stops when one is met and keeps its best checkpoint by the metric.
    target_fid: PositiveFloat | None = None
    target_kid: float | None = None
    # Speed: bf16 autocast (auto: where this device runs it faster) and channels-last memory layout.
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    channels_last: Bool = False
    ema_decay: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None  # EMA of the generator's weights, used to sample
    # the EMA's decay at step t is min(ema_decay, (1 + t) / (10 + t)): at 0.999 a run of 1,000 steps would
    # otherwise still hold 37% of its random initial weights (training/ema.py)
    ema_warmup: Bool = False
    r1_gamma: Annotated[float, Field(ge=0.0)] = 0.0  # GAN: R1 penalty on D's gradient at real images (0: off)
    r1_every: Annotated[Int, Field(gt=0, le=1000)] = 1  # lazy R1: every n-th D update, scaled by n (StyleGAN2)
    augment: str = "none"  # GAN: DiffAugment policy for D's inputs, e.g. "translation,cutout" (see training/augment.py)
    # GAN: ADA: apply the policy with a probability adapted to keep E[sign D(real)] at this target (0.6 in
    # the paper), moving at most 1 per ada_kimg thousand images; None: always apply it (DiffAugment)
    ada_target: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    ada_kimg: Annotated[float, Field(gt=0.0, le=100_000.0)] = 100.0
    # experiment trackers fed at the log, check and sample intervals: tensorboard, mlflow[:URI], wandb[:PROJECT]
    trackers: list[str] = dataclasses.field(default_factory=list)
    recipe: str | None = None  # the recipe this config was layered on (see ecogen.session.resolve), for the record

    def __post_init__(self) -> None:
        """A target needs checks: the interval is filled in here, so the config says what runs (no default
        hidden in the loop or the planner)."""
        if self.eval_every is None and (self.target_fid is not None or self.target_kid is not None):
            object.__setattr__(self, "eval_every", DEFAULT_CHECK_INTERVAL)


DEFAULT_CHECK_INTERVAL = 100
C = TypeVar("C")


def _short(value: Any) -> str:
    """A value for an error message, cut short: the input may be huge (a YAML bomb, a long list)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format(err: ValidationError, root: str) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in (root, *e["loc"]) if p != "")
        msg = "unknown option" if e["type"] == "unexpected_keyword_argument" else e["msg"]
        got = "" if e["type"] == "unexpected_keyword_argument" else f" (got {_short(e['input'])})"
        parts.append(f"{loc}: {msg}{got}")
    return "; ".join(parts)


def from_dict(cls: type[C], values: dict[str, Any], root: str = "") -> C:
    """Build a config from plain data, naming any unknown or ill-typed field."""
    if not isinstance(values, dict):
        raise ConfigError(f"{root or 'config'}: expected a mapping, got {type(values).__name__}")
    try:
        return TypeAdapter(cls).validate_python(values)
    except ValidationError as err:
        raise ConfigError(_format(err, root)) from None


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` (dotted keys allowed: ``data.image_size``) into a copy of ``base``."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if rest:
            sub = out.get(head)
            out[head] = merge(sub if isinstance(sub, dict) else {}, {rest: value})
        elif isinstance(value, dict) and isinstance(out.get(head), dict):
            out[head] = merge(out[head], value)
        else:
            out[head] = value
    return out


MAX_FILE_BYTES = 1 << 20  # a config or spec is a page of text; anything bigger is not one


class _PlainLoader(yaml.SafeLoader):
    """Safe YAML without aliases: a config needs none, and aliases are how a few hundred bytes expand to
    gigabytes (the "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise ConfigError(f"YAML aliases (*name) are not accepted (line {self.peek_event().start_mark.line + 1})")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """A key given twice is an error: YAML keeps the last one, so `steps: 2` then `steps: 1000000`
        silently trained a million steps."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # an unhashable key: SafeLoader's own error names it
            if key in seen:
                raise ConfigError(f"the key {str(key)[:40]!r} is given twice (line {key_node.start_mark.line + 1}); "
                                  f"keep one")
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_text_file(path: Path, what: str) -> str:
    """A small text file, or a ConfigError naming it."""
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: {path.stat().st_size:,} bytes is too large for a {what}")
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read ({err.__class__.__name__})") from None


def parse_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_PlainLoader)  # noqa: S506  (a SafeLoader subclass)
    except yaml.YAMLError as err:
        raise ConfigError(f"{where}: not valid YAML ({err.__class__.__name__})") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply") from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    values = parse_yaml(read_text_file(path, "config file"), str(path)) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return values


def dump_yaml(config: Any) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)
