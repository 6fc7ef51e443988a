"""DCGAN generator and discriminator, sized from image size, channels and a width multiplier."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ecogen.config import ModelConfig
from ecogen.models.blocks import ClassBatchNorm, dcgan_init, redraw_spectral, resolution_plan, widths


def up(c_in: int, c_out: int, how: str) -> list[nn.Module]:
    """One doubling of the resolution: a transposed conv (DCGAN), or nearest upsampling and a 3x3 conv."""
    if how == "nearest":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)]
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]


class Generator(nn.Module):
    """z -> ConvTranspose (start x start) -> [ConvTranspose k4 s2 + BN + ReLU] x n -> Tanh.

    ``depth`` adds that many [Conv k3 + BN + ReLU] after each upsampling (same resolution, same width).
    ``upsample="nearest"``: each ConvTranspose k4 s2 becomes nearest-neighbour upsampling + Conv k3 (Odena
    et al. 2016: no checkerboard pattern from uneven kernel overlap), at 2.25x the FLOPs of that layer.

    Conditional (``num_classes > 0``): a learned class embedding (num_classes wide) is concatenated to z;
    with ``conditioning="batchnorm"`` every BatchNorm also takes its scale and shift from the class.
    """

    def __init__(self, latent_dim: int, image_size: int, channels: int, width_mult: float = 1.0,
                 num_classes: int = 0, conditioning: str = "input", depth: int = 0,
                 upsample: str = "transposed") -> None:
        super().__init__()
        start, n_up = resolution_plan(image_size)
        w = widths(n_up, width_mult)
        self.embed = nn.Embedding(num_classes, num_classes) if num_classes else None

        def norm(c: int) -> nn.Module:
            return ClassBatchNorm(c, num_classes) if num_classes and conditioning == "batchnorm" else nn.BatchNorm2d(c)

        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim + num_classes, w[0], start, 1, 0, bias=False),
            norm(w[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in zip(w[:-1], w[1:]):
            layers += [*up(c_in, c_out, upsample), norm(c_out), nn.ReLU(True)]
            for _ in range(depth):  # more layers at the same resolution: depth without more upsampling
                layers += [nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), norm(c_out), nn.ReLU(True)]
        layers += [*up(w[-1], channels, upsample), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.latent_dim = latent_dim
        self.initialise()

    def initialise(self, generator: torch.Generator | None = None) -> None:
        """DCGAN weights (a class embedding N(0, 1)) drawn from ``generator``."""
        for module in self.modules():
            dcgan_init(module, generator)
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 1.0, generator=generator)

    @property
    def depth(self) -> int:
        """Layers in the stack: ``head(z, y, k)`` then ``tail(h, y, k)`` splits it after layer k."""
        return len(self.net)

    def head(self, z: torch.Tensor, y: torch.Tensor | None, layer: int) -> torch.Tensor:
        """The activations after ``layer`` layers (latent mixing blends here)."""
        return self.run(self._input(z, y), y, stop=layer)

    def tail(self, h: torch.Tensor, y: torch.Tensor | None, layer: int) -> torch.Tensor:
        """Images from the activations ``head`` gave after ``layer`` layers."""
        return self.run(h, y, start=layer)

    def _input(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.embed is not None:
            if y is None:
                raise ValueError("a conditional generator needs class labels")
            z = torch.cat([z, self.embed(y)], dim=1)
        return z.view(z.shape[0], -1, 1, 1)

    def run(self, h: torch.Tensor, y: torch.Tensor | None, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Layers ``start:stop`` of the stack on ``h`` (the class goes to the layers that take it)."""
        for layer in self.net[start:stop]:
            h = layer(h, y) if isinstance(layer, ClassBatchNorm) else layer(h)
        return h

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, pre_activation: bool = False) -> torch.Tensor:
        """Images in [-1, 1]; ``pre_activation``: the output before Tanh, logits for likelihoods that need
        them (the VAE's Bernoulli). One entry point, so a DDP wrapper sees every use."""
        return self.run(self._input(z, y), y, stop=-1 if pre_activation else None)


class Discriminator(nn.Module):
    """x -> [Conv k4 s2 (or Conv k3 + AvgPool) (+ BN) + LeakyReLU(0.2)] x n -> Conv (start x start) -> logit.

    ``norm="spectral"``: no BatchNorm; every conv (and the class heads) is spectrally normalised (Miyato et
    al. 2018), which bounds D's Lipschitz constant instead of normalising its activations.

    With ``outputs > 1`` the same stack is the VAE's encoder (outputs = 2 x latent: mean and log-variance).
    Conditional (``num_classes > 0``): ``projection`` adds <embed(y), pooled features> to the logit
    (Miyato & Koyama 2018); ``concat`` feeds one-hot class planes with the image (the conditional encoder);
    ``both`` does both.

    ``mbstd`` > 0 (groups of that many images): before the last conv, one more feature map holds the
    standard deviation of the features across each group (Karras et al. 2018), so D sees a batch's lack of
    variety and G is pushed away from dropping modes.
    """

    def __init__(
        self,
        image_size: int,
        channels: int,
        width_mult: float = 1.0,
        downsample: str = "stride",
        norm: str = "none",
        outputs: int = 1,
        num_classes: int = 0,
        conditioning: str = "projection",
        aux_classifier: bool = False,
        mbstd: int = 0,
    ) -> None:
        super().__init__()
        start, n_up = resolution_plan(image_size)
        w = widths(n_up, width_mult)[::-1]
        self.num_classes, self.mbstd = num_classes, mbstd
        self.concat = bool(num_classes) and conditioning in ("concat", "both")
        in_channels = channels + (num_classes if self.concat else 0)
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip([in_channels, *w[:-1]], w)):
            use_norm = norm == "batch" and i > 0
            if downsample == "stride":
                layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not use_norm))
            else:
                layers += [nn.Conv2d(c_in, c_out, 3, 1, 1, bias=not use_norm), nn.AvgPool2d(2)]
            if use_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(nn.Conv2d(w[-1] + (1 if mbstd else 0), outputs, start, 1, 0, bias=outputs > 1))
        self.net = nn.Sequential(*layers)
        self.embed = nn.Embedding(num_classes, w[-1]) if num_classes and conditioning in ("projection", "both") else None
        self.aux = nn.Linear(w[-1], num_classes) if num_classes and aux_classifier else None
        self.initialise()
        if norm == "spectral":  # after the init: the parametrization keeps the initial weights as its original
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    spectral_norm(module)

    def initialise(self, generator: torch.Generator | None = None) -> None:
        """DCGAN weights (a projection embedding N(0, 0.02)) drawn from ``generator``; spectral norm's
        vectors are drawn again for them."""
        for module in self.modules():
            dcgan_init(module, generator)
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02, generator=generator)
        for module in self.modules():
            if parametrize.is_parametrized(module, "weight"):
                redraw_spectral(module, generator)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, aux: bool = False) -> Any:
        """The logit; with ``aux``, (logit, class logits of the auxiliary classifier or None), the AC-GAN
        signal. One entry point, so a DDP wrapper sees every use."""
        if self.num_classes and y is None:
            raise ValueError("a conditional discriminator needs class labels")
        if self.concat:
            planes = F.one_hot(y, self.num_classes).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
            x = torch.cat([x, planes], dim=1)
        h = self.net[:-1](x)
        out = self.net[-1](minibatch_std(h, self.mbstd) if self.mbstd else h).flatten(1).squeeze(1)
        pooled = h.mean(dim=(2, 3))
        if self.embed is not None:
            out = out + (self.embed(y) * pooled).sum(dim=1)
        return (out, None if self.aux is None else self.aux(pooled)) if aux else out


def minibatch_std(h: torch.Tensor, group: int) -> torch.Tensor:
    """``h`` with one more channel: each image's group's feature std, averaged over features and positions.

    Groups are of ``group`` images, or of the whole batch when it does not divide (the last batch of an
    epoch); the std is computed in fp32, as bf16 rounds small spreads to zero.
    """
    n, c, height, width = h.shape
    g = group if n % group == 0 else n
    spread = h.float().reshape(g, n // g, c, height, width).std(dim=0, unbiased=False)  # (n/g, c, h, w)
    stat = spread.mean(dim=(1, 2, 3)).to(h.dtype)  # one number per group
    plane = stat.repeat(g).view(n, 1, 1, 1).expand(n, 1, height, width)
    return torch.cat([h, plane], dim=1)


def num_classes(config: ModelConfig) -> int:
    return len(config.classes or ()) if config.conditional else 0


def build_dcgan(config: ModelConfig, image_size: int, channels: int) -> nn.ModuleDict:
    k = num_classes(config)
    return nn.ModuleDict(
        {
            "G": Generator(config.latent_dim, image_size, channels, config.width_mult, k, config.g_conditioning,
                           config.g_depth, config.g_upsample),
            "D": Discriminator(image_size, channels, config.width_mult, config.d_downsample, config.d_norm,
                               num_classes=k, conditioning=config.d_conditioning, aux_classifier=config.aux_classifier,
                               mbstd=config.d_mbstd),
        }
    )
