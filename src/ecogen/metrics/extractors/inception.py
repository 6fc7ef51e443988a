"""The FID-standard Inception-v3 (the TF 2015-12-05 graph as ported by pytorch-fid), built here.

Weights come only from a path the user gives: the usual ``pt_inception-2015-12-05-6726825d.pth``
(read with ``torch.load(weights_only=True)``, which refuses pickled code) or a .safetensors file with
the same keys. Differences from torchvision's Inception3 that FID depends on: average pools exclude
padding, the last block max-pools, the classifier has 1008 outputs, and inputs are resized to 299
bilinearly.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ecogen.errors import EcogenError
from ecogen.metrics.extractors.base import EXTRACTORS, Extractor


class Conv(nn.Module):
    """conv (no bias) + BatchNorm(eps=0.001) + ReLU, named as in the weights file."""

    def __init__(self, c_in: int, c_out: int, **kw: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **kw)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, c_in: int, pool: int) -> None:
        super().__init__()
        self.branch1x1 = Conv(c_in, 64, kernel_size=1)
        self.branch5x5_1, self.branch5x5_2 = Conv(c_in, 48, kernel_size=1), Conv(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = Conv(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = Conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, kernel_size=3, padding=1)
        self.branch_pool = Conv(c_in, pool, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_avg(x)),
        ], 1)


class InceptionB(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = Conv(c_in, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = Conv(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = Conv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2),
        ], 1)


class InceptionC(nn.Module):
    def __init__(self, c_in: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = Conv(c_in, 192, kernel_size=1)
        self.branch7x7_1 = Conv(c_in, c7, kernel_size=1)
        self.branch7x7_2 = Conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = Conv(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = Conv(c_in, c7, kernel_size=1)
        self.branch7x7dbl_2 = Conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = Conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = Conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = Conv(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = Conv(c_in, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dbl = x
        for i in range(1, 6):
            dbl = getattr(self, f"branch7x7dbl_{i}")(dbl)
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            dbl,
            self.branch_pool(_avg(x)),
        ], 1)


class InceptionD(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = Conv(c_in, 192, kernel_size=1), Conv(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = Conv(c_in, 192, kernel_size=1)
        self.branch7x7x3_2 = Conv(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = Conv(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = Conv(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, c_in: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool  # FID's last block max-pools its pool branch (a quirk of the TF graph)
        self.branch1x1 = Conv(c_in, 320, kernel_size=1)
        self.branch3x3_1 = Conv(c_in, 384, kernel_size=1)
        self.branch3x3_2a = Conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = Conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = Conv(c_in, 448, kernel_size=1)
        self.branch3x3dbl_2 = Conv(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = Conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = Conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = Conv(c_in, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg(x)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(b3), self.branch3x3_2b(b3),
            self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl),
            self.branch_pool(pooled),
        ], 1)


class FIDInception(nn.Module):
    """Images in [-1, 1] at 299x299 -> (2048-d pool features, 1008 logits)."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = Conv(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = Conv(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = Conv(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = Conv(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = Conv(80, 192, kernel_size=3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = InceptionA(192, 32), InceptionA(256, 64), InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b, self.Mixed_6c = InceptionC(768, 128), InceptionC(768, 160)
        self.Mixed_6d, self.Mixed_6e = InceptionC(768, 160), InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b, self.Mixed_7c = InceptionE(1280, max_pool=False), InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        features = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return features, self.fc(features)


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise EcogenError(f"Inception weights not found: {path} (pass the FID weights file with --weights)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then reads fine
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)  # refuses pickled code
    except Exception as err:
        raise EcogenError(f"{path}: cannot read Inception weights ({err.__class__.__name__})") from None
    if not isinstance(state, dict):
        raise EcogenError(f"{path}: expected a state dict of tensors")
    return state


def load_inception(path: str | Path) -> FIDInception:
    net = FIDInception()
    state = read_weights(Path(path))
    state = {k: v for k, v in state.items() if not k.startswith("AuxLogits.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]  # absent from ported weights
    if missing or unexpected:
        detail = f"missing {len(missing)} (e.g. {missing[:2]})" if missing else f"unexpected {unexpected[:2]}"
        raise EcogenError(f"{path}: not FID Inception-v3 weights ({detail})")
    return net


@EXTRACTORS.register("inception")
def inception_extractor(arg: str | None) -> Extractor:
    if not arg:
        raise EcogenError("extractor 'inception' needs its weights: --weights pt_inception-2015-12-05-6726825d.pth")
    path = Path(arg)
    net = load_inception(path)
    key = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return Extractor("inception", net, 299, 3, key, {"weights": str(path)})
