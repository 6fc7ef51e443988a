"""DiffAugment (Zhao et al. 2020): the same random, differentiable augmentations on real and generated
images before the discriminator sees them, so D overfits a small data set later. G's gradient flows
through the augmentation, so G still learns the un-augmented distribution.

Draws come from the run's own noise generator, so a resumed run stays bitwise equal.

With an adaptive probability (ADA, Karras et al. 2020) each augmentation is applied to each image with a
probability ``p`` that a controller raises while D is overconfident on the reals and lowers otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ecogen.errors import ConfigError, EcogenError
from ecogen.registry import Registry

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
AUGMENTS: Registry[Augment] = Registry("augmentation")


def _uniform(n: int, rng: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, generator=rng, device=x.device).to(x.dtype)


def color(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Brightness shift in [-0.5, 0.5) and contrast scale in [0.5, 1.5) per image."""
    x = x + (_uniform(len(x), rng, x) - 0.5)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(len(x), rng, x) + 0.5) + mean


def translation(x: torch.Tensor, rng: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size, filling with zeros."""
    n, _, h, w = x.shape
    sh, sw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sh, sh + 1, (n, 1), generator=rng, device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1), generator=rng, device=x.device)
    padded = F.pad(x, [sw, sw, sh, sh])
    rows = torch.arange(h, device=x.device)[None, :] + sh - dy  # n x h
    cols = torch.arange(w, device=x.device)[None, :] + sw - dx  # n x w
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, rng: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` x the image size at a random place inside each image."""
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    y0 = torch.randint(0, h - ch + 1, (n, 1, 1), generator=rng, device=x.device)
    x0 = torch.randint(0, w - cw + 1, (n, 1, 1), generator=rng, device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (ys >= y0) & (ys < y0 + ch) & (xs >= x0) & (xs < x0 + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def flip(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2 (ADA's x-flip): free on sets that look alike
    mirrored, such as faces and emoji; not for digits or text."""
    mirrored = torch.rand(len(x), 1, 1, 1, generator=rng, device=x.device) < 0.5
    return torch.where(mirrored, x.flip(-1), x)


AUGMENTS.add("color", color)
AUGMENTS.add("flip", flip)
AUGMENTS.add("translation", translation)
AUGMENTS.add("cutout", cutout)


def parse_policy(policy: str) -> list[Augment]:
    """``"translation,cutout"`` -> the functions, in order; ``"none"`` or ``""`` -> no augmentation."""
    names = [p.strip() for p in policy.split(",") if p.strip() and p.strip() != "none"]
    try:
        return [AUGMENTS.get(name) for name in names]
    except EcogenError as err:
        raise ConfigError(f"augment: {err}") from None


def apply_policy(x: torch.Tensor, policy: list[Augment], rng: torch.Generator,
                 p: torch.Tensor | float | None = None) -> torch.Tensor:
    """Each augmentation in turn; with ``p`` (a 0-dim tensor: no host sync), each image gets each one
    with that probability, else all images get all of them (DiffAugment). ``p=0.0`` (a float) skips the
    work: ADA's probability sits at 0 until D overfits (an emoji run that computed them at p = 0 made 1,972
    steps in the energy the same run without augmentation spent on 2,640)."""
    if isinstance(p, float) and p == 0.0:
        return x
    for augment in policy:
        changed = augment(x, rng)
        if p is not None:
            chosen = torch.rand(len(x), 1, 1, 1, generator=rng, device=x.device) < p
            changed = torch.where(chosen, changed, x)
        x = changed
    return x


class AdaptiveProbability:
    """ADA's controller: the overfitting signal r = E[sign D(real)] over ``INTERVAL`` D updates; p moves
    by sign(r - target) x (images seen) / (``kimg`` x 1,000), so it can cross [0, 1] in ``kimg`` thousand
    images, and stays in [0, 1]. Its tensors live in ``state`` (saved in checkpoints: a resumed run goes
    on from the same p); the counts are summed over the ranks of a distributed run."""

    INTERVAL = 4  # D updates between adjustments, as in ADA

    def __init__(self, target: float, kimg: float, device: torch.device) -> None:
        self.target, self.kimg = target, kimg
        self.state = {name: torch.zeros((), device=device) for name in ("ada_p", "ada_signs", "ada_seen")}

    @property
    def p(self) -> torch.Tensor:
        return self.state["ada_p"]

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor, d_update: int) -> None:
        """Count one D update's outputs on the reals; every INTERVAL-th update, adjust p."""
        s = self.state
        s["ada_signs"].add_(real_logits.detach().float().sign().sum())
        s["ada_seen"].add_(real_logits.shape[0])
        if (d_update + 1) % self.INTERVAL:
            return
        counts = torch.stack([s["ada_signs"], s["ada_seen"]])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(counts)
        signal = counts[0] / counts[1].clamp(min=1)
        s["ada_p"].add_(torch.sign(signal - self.target) * counts[1] / (self.kimg * 1000.0)).clamp_(0.0, 1.0)
        s["ada_signs"].zero_(), s["ada_seen"].zero_()
