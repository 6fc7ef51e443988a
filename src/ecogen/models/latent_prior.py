"""A VAE's fitted latent prior: a Gaussian, or a mixture of Gaussians, fitted to codes of the training images.

A VAE samples z ~ N(0, I), but the codes its decoder learnt to read (the aggregate posterior) are not
N(0, I): some directions are squeezed, some unused, the clothes of one kind cluster apart from the
others, so many prior samples land where the decoder saw no image. Fitting a density to the codes of
training images ("ex-post density estimation", Ghosh et al., ICLR 2020; the role of Dai & Wipf's second
stage) puts samples back where the decoder is good: for a learnt-variance VAE on Fashion-MNIST a
full-covariance Gaussian took fashion FID from 46.6 to 24.6, a 10-component mixture to 7.5
(benchmarks/vae_prior.py).

The prior is a map z = T(u) of the standard-normal latent u that everything else draws, so sampling,
grids and checks need no change, and it rides along in the checkpoint as buffers. One component is the
affine map z = mean + L u. With K components, u's first coordinate picks one: p = Phi(u_0) falls in the
slice of [0, 1) that holds component k's weight, and p rescaled within that slice is uniform again and
independent of k, so Phi^-1 of it is a fresh standard normal v_0; then z = mean_k + L_k v. For u ~ N(0, I)
that is exactly a draw from the mixture. ``inverse`` takes a code back to the u that maps to it (with the
component that explains it best), so images encode to latents and decode again; a path between latents
of different components switches component at one point (``--prior fitted`` keeps paths smooth).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

PRIOR = "prior"  # the module name of the fitted prior, when the model has one
FIT_IMAGES = 10_000  # training images whose codes the prior is fitted to: ample for a 100-dim covariance
JITTER = 1e-4  # added to each covariance's diagonal: a collapsed direction keeps a tiny, invertible scale
EDGE = 1e-7  # probabilities are kept this far inside (0, 1), so Phi^-1 stays finite


# A warm mixture's starting point, kept apart from the fit that samples (buffer -> the sampling buffer it copies)
CHAIN = {"start_shift": "shift", "start_scale_tril": "scale_tril", "start_weights": "weights",
         "started": "fitted"}


class LatentPrior(nn.Module):
    """z = T(u) for ``components`` Gaussians (1: a full-covariance Gaussian); the identity until ``fit``.
    ``warm``: a mixture's refit starts from the last scheduled fit rather than afresh (see ``fit``)."""

    def __init__(self, latent_dim: int, components: int = 1, warm: bool = False) -> None:
        super().__init__()
        self.warm = warm and components > 1
        self.register_buffer("shift", torch.zeros(components, latent_dim))
        self.register_buffer("scale_tril", torch.eye(latent_dim).repeat(components, 1, 1))
        self.register_buffer("weights", torch.full((components,), 1.0 / components))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.int64))  # 0: N(0, I), never fitted
        if self.warm:
            for chain, source in CHAIN.items():
                self.register_buffer(chain, getattr(self, source).clone())

    def initialise(self, generator: torch.Generator | None = None) -> None:
        k, d = self.shift.shape
        with torch.no_grad():
            self.shift.zero_()
            self.scale_tril.copy_(torch.eye(d).repeat(k, 1, 1))
            self.weights.fill_(1.0 / k)
            self.fitted.zero_()
            self._advance()

    def _advance(self) -> None:
        """The fit in the sampling buffers becomes the next warm refit's start."""
        for chain, source in CHAIN.items() if self.warm else ():
            getattr(self, chain).copy_(getattr(self, source))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # a warm checkpoint written before the start was kept apart: its last fit is the start
        for chain, source in CHAIN.items() if self.warm else ():
            if prefix + chain not in state_dict and prefix + source in state_dict:
                state_dict[prefix + chain] = state_dict[prefix + source]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def components(self) -> int:
        return self.shift.shape[0]

    def _slices(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each component's slice of [0, 1): its lower end and its width (the weight), in float64."""
        w = self.weights.double()
        return torch.cumsum(w, 0) - w, w

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        if self.components == 1 or not int(self.fitted):
            return self.shift[0] + u @ self.scale_tril[0].T
        lo, width = self._slices()
        p = torch.special.ndtr(u[:, 0].double()).clamp(EDGE, 1 - EDGE)
        k = (torch.searchsorted(lo + width, p, right=True)).clamp(max=self.components - 1)
        fresh = torch.special.ndtri(((p - lo[k]) / width[k]).clamp(EDGE, 1 - EDGE)).to(u.dtype)
        v = torch.cat([fresh[:, None], u[:, 1:]], dim=1)
        return self.shift[k] + (self.scale_tril[k] @ v[:, :, None]).squeeze(-1)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """The standard-normal latent that maps to code ``z`` (how images are inverted to latents)."""
        if self.components == 1 or not int(self.fitted):
            return torch.linalg.solve_triangular(self.scale_tril[0], (z - self.shift[0]).T, upper=False).T
        diff = (z[None] - self.shift[:, None]).transpose(1, 2)  # K x D x N
        v_all = torch.linalg.solve_triangular(self.scale_tril, diff, upper=False).transpose(1, 2)  # K x N x D
        log_det = torch.log(torch.diagonal(self.scale_tril, dim1=1, dim2=2)).sum(1)
        score = torch.log(self.weights)[:, None] - log_det[:, None] - 0.5 * v_all.pow(2).sum(2)
        k = score.argmax(0)
        v = v_all[k, torch.arange(len(z))]
        lo, width = self._slices()
        p = (lo[k] + width[k] * torch.special.ndtr(v[:, 0].double())).clamp(EDGE, 1 - EDGE)
        return torch.cat([torch.special.ndtri(p).to(z.dtype)[:, None], v[:, 1:]], dim=1)

    @torch.no_grad()
    def fit(self, codes: torch.Tensor, seed: int = 0, final: bool = False) -> None:
        """Fit to ``codes`` (N x latent_dim): mean and covariance for one component; for several,
        scikit-learn's EM for a full-covariance mixture. The first fit starts from k-means seeded by
        ``seed``; a warm refit starts from the last fit, which the codes have moved only a little since, so
        EM needs few iterations (a from-scratch refit before each check took 56% of a 1 Wh Fashion-MNIST
        run). A scratch fit depends only on the codes, so a resumed run refits exactly as an uninterrupted
        one. A warm one depends on the fits before it too, so a ``final`` fit (the one a stopped run makes
        for its last grid and checkpoint, which an uninterrupted run never makes) samples but is not the
        next fit's start: a resumed run then refits exactly as an uninterrupted one as well."""
        x = codes.double().cpu()
        if self.components == 1:
            mean = x.mean(0, keepdim=True)
            cov = (torch.cov(x.T) + JITTER * torch.eye(x.shape[1], dtype=x.dtype))[None]
        else:
            start = self._start() if self.warm and int(self.started) else None
            mean, cov, w = _mixture(x.numpy(), self.components, seed, start)
            self.weights.copy_(torch.from_numpy(w).to(self.weights))
        self.shift.copy_(mean.to(self.shift))
        self.scale_tril.copy_(torch.linalg.cholesky(cov).to(self.scale_tril))
        self.fitted.fill_(1)
        if not final:
            self._advance()

    def _start(self) -> dict[str, np.ndarray]:
        """The warm start as scikit-learn's starting point: weights, means and precision matrices."""
        tril = self.start_scale_tril.double().cpu()
        weights = self.start_weights.double().cpu().numpy()
        return {"weights_init": weights / weights.sum(), "means_init": self.start_shift.double().cpu().numpy(),
                "precisions_init": torch.cholesky_inverse(tril).numpy()}


def _mixture(x: np.ndarray, components: int, seed: int,
             start: dict[str, np.ndarray] | None = None) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    from sklearn.mixture import GaussianMixture  # scikit-learn is only needed where a mixture is fitted

    gm = GaussianMixture(components, covariance_type="full", reg_covar=JITTER, random_state=seed, max_iter=100,
                         **(start or {})).fit(x)
    return torch.from_numpy(gm.means_), torch.from_numpy(gm.covariances_), gm.weights_


class PriorDecoder(nn.Module):
    """The sampling module of a VAE with a fitted prior: the decoder applied to the prior's codes. It owns
    no weights (both are the run's modules), so it is built on demand and never saved."""

    def __init__(self, prior: LatentPrior, decoder: nn.Module) -> None:
        super().__init__()
        self.prior, self.decoder = prior, decoder
        self.latent_dim = decoder.latent_dim

    def codes(self, u: torch.Tensor) -> torch.Tensor:
        return self.prior(u.to(self.prior.shift.dtype)).to(u.dtype)

    def forward(self, u: torch.Tensor, y: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        return self.decoder(self.codes(u), y, **kwargs)

    # latent mixing splits the decoder after a layer (compose/latent_mix.py)
    @property
    def depth(self) -> int:
        return self.decoder.depth

    def head(self, u: torch.Tensor, y: torch.Tensor | None, layer: int) -> torch.Tensor:
        return self.decoder.head(self.codes(u), y, layer)

    def tail(self, h: torch.Tensor, y: torch.Tensor | None, layer: int) -> torch.Tensor:
        return self.decoder.tail(h, y, layer)


def compose(modules: nn.ModuleDict, sampler: nn.Module) -> nn.Module:
    """The module that samples: ``sampler`` (the decoder or its EMA copy) behind the prior, when fitted."""
    return PriorDecoder(modules[PRIOR], sampler) if PRIOR in modules else sampler
