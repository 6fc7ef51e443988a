"""A small CNN classifier used as a feature extractor, and the code that trains it.

Its 128-d penultimate activations are the features, scaled so their mean square per dimension is 1 on
the training split (``feature_scale`` in the JSON): FID and KID then read on a scale close to Inception
features' instead of depending on arbitrary activation magnitudes.

The bundled ``mnist`` extractor was trained by ``scripts/train_mnist_extractor.py`` with this code on the
training split of the bundled digits only; ``ecogen extractor train`` trains one for the user's own
labelled images, because digit features mean nothing on faces.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from ecogen.base import atomic
from ecogen.config import DataConfig
from ecogen.data import prepare_data
from ecogen.errors import EcogenError
from ecogen.metrics.extractors.base import EXTRACTORS, Extractor
from ecogen.base.progress import make_progress

FORMAT = "ecogen.extractor.classifier"


class ClassifierNet(nn.Module):
    """conv-conv-pool x2 -> 128-d features (penultimate) -> logits. Sized for 16..64 px inputs."""

    def __init__(self, channels: int, classes: int, image_size: int, width: int = 32, feature_dim: int = 128) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(True), nn.Conv2d(c_out, c_out, 3, padding=1),
                    nn.BatchNorm2d(c_out), nn.ReLU(True), nn.MaxPool2d(2)]

        self.body = nn.Sequential(*block(channels, width), *block(width, 2 * width), nn.Flatten())
        self.features = nn.Sequential(nn.Linear(2 * width * (image_size // 4) ** 2, feature_dim), nn.ReLU(True))
        self.head = nn.Linear(feature_dim, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(self.body(x))
        return f, self.head(f)


@dataclass(frozen=True)
class ClassifierReport:
    path: Path
    accuracy: float  # on the held-out split
    classes: tuple[str, ...]
    epochs: int


def _shift(x: torch.Tensor, gen: torch.Generator, pixels: int = 2, background: float = -1.0) -> torch.Tensor:
    """Random translations by up to ``pixels`` (the background fills in): cheap, label-preserving."""
    dx, dy = torch.randint(-pixels, pixels + 1, (2,), generator=gen).tolist()
    padded = F.pad(x, (pixels, pixels, pixels, pixels), value=background)
    h, w = x.shape[-2:]
    return padded[..., pixels + dy : pixels + dy + h, pixels + dx : pixels + dx + w]


def train_classifier(data: DataConfig, out: str | Path, *, epochs: int = 15, batch_size: int = 64, seed: int = 0,
                     lr: float = 1e-3, progress: bool = True) -> ClassifierReport:
    """Train on ``data``'s training split only, report held-out accuracy, save safetensors + JSON."""
    prepared = prepare_data(data)
    images = prepared.images
    if images.labels is None:
        raise EcogenError(f"{data.source} has no labels; an extractor needs labelled images (class subfolders)")
    classes = images.classes
    x = torch.from_numpy(prepared.train.images)
    y = torch.from_numpy(prepared.train.labels)
    x_val, y_val = torch.from_numpy(prepared.holdout.images), torch.from_numpy(prepared.holdout.labels)
    if len(x) < batch_size or len(x_val) == 0:
        raise EcogenError(f"too few labelled images to train an extractor ({len(x)} train, {len(x_val)} held out)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ClassifierNet(prepared.config.channels or 1, len(classes), data.image_size)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * (len(x) // batch_size))
    gen = torch.Generator().manual_seed(seed)
    background = float(x[:, :, 0, 0].median())  # what shifted-in pixels show: black digits' ground, white emoji's
    with make_progress(progress) as bar:
        task = bar.add_task("extractor", total=epochs, info="")
        for epoch in range(epochs):
            net.train()
            perm = torch.randperm(len(x), generator=gen)
            for i in range(len(x) // batch_size):
                idx = perm[i * batch_size : (i + 1) * batch_size]
                _, logits = net(_shift(x[idx], gen, background=background))
                loss = F.cross_entropy(logits, y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            accuracy = evaluate_accuracy(net, x_val, y_val)
            bar.update(task, advance=1, info=f"loss {loss.item():.3f}  held-out accuracy {accuracy:.2%}")
    path = Path(out)
    with torch.inference_mode():
        net.eval()
        feats = torch.cat([net(chunk)[0] for chunk in x.split(500)])
    scale = float(feats.pow(2).mean().rsqrt())  # mean square per dimension 1 on the training split
    meta = {"format": FORMAT, "version": 1, "feature_scale": scale, "channels": prepared.config.channels or 1, "image_size": data.image_size,
            "classes": list(classes), "accuracy": accuracy, "epochs": epochs, "seed": seed,
            "data": {"source": data.source, "image_size": data.image_size, "fit": data.fit,
                     "holdout": data.holdout, "split_seed": data.split_seed},
            "held_out_images": len(x_val)}
    tensors = {k: v.contiguous() for k, v in net.state_dict().items()}
    atomic.write_with(path, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT}))
    atomic.write_json(path.with_suffix(".json"), meta)
    return ClassifierReport(path, accuracy, classes, epochs)


@torch.inference_mode()
def evaluate_accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    predictions = torch.cat([net(chunk)[1].argmax(1) for chunk in x.split(500)])
    return float((predictions == y).float().mean())


def load_classifier(path: str | Path, name: str = "classifier") -> Extractor:
    path = Path(path)
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise EcogenError(f"extractor weights not found: {path} (and its .json beside it)")
    try:
        meta = json.loads(meta_path.read_text())
        tensors = load_file(str(path))
    except Exception:  # unreadable JSON or not safetensors
        raise EcogenError(f"{path}: not an ecogen classifier extractor") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise EcogenError(f"{meta_path}: not an ecogen classifier extractor (format tag missing)")
    net = ClassifierNet(meta["channels"], len(meta["classes"]), meta["image_size"])
    try:
        net.load_state_dict(tensors)
    except RuntimeError:
        raise EcogenError(f"{path}: weights do not fit the classifier described beside them") from None
    key = hashlib.sha256(path.read_bytes() + meta_path.read_bytes()).hexdigest()[:16]  # weights and scale
    info = {"weights": str(path), "classes": meta["classes"], "held_out_accuracy": meta["accuracy"]}
    return Extractor(name, net, meta["image_size"], meta["channels"], key, info, meta.get("feature_scale", 1.0))


BUNDLED_MNIST = "mnist_classifier.safetensors"
BUNDLED_EMOJI = "emoji_classifier.safetensors"
BUNDLED_FASHION = "fashion_classifier.safetensors"


@EXTRACTORS.register("mnist")
def mnist_extractor(arg: str | None) -> Extractor:
    """The classifier ecogen trained on the bundled digits' training split (weights inside the package)."""
    if arg:
        raise EcogenError("extractor 'mnist' takes no path: its weights ship with ecogen")
    with resources.as_file(resources.files("ecogen.metrics") / "weights" / BUNDLED_MNIST) as path:
        return load_classifier(path, "mnist")


@EXTRACTORS.register("emoji")
def emoji_extractor(arg: str | None) -> Extractor:
    """The classifier ecogen trained on the emoji data's training split (8 Unicode emoji groups, 32x32 RGB):
    cheap colour features for quality checks during training (scripts/train_emoji_extractor.py)."""
    if arg:
        raise EcogenError("extractor 'emoji' takes no path: its weights ship with ecogen")
    with resources.as_file(resources.files("ecogen.metrics") / "weights" / BUNDLED_EMOJI) as path:
        return load_classifier(path, "emoji")


@EXTRACTORS.register("fashion")
def fashion_extractor(arg: str | None) -> Extractor:
    """The classifier ecogen trained on Fashion-MNIST's 60,000 training images (10 classes, 32x32 grey):
    the fast quality check for that set (scripts/train_fashion_extractor.py; accuracy on the official
    test split in docs/metrics.md)."""
    if arg:
        raise EcogenError("extractor 'fashion' takes no path: its weights ship with ecogen")
    with resources.as_file(resources.files("ecogen.metrics") / "weights" / BUNDLED_FASHION) as path:
        return load_classifier(path, "fashion")


@EXTRACTORS.register("classifier")
def classifier_extractor(arg: str | None) -> Extractor:
    """A classifier trained by ``ecogen extractor train``: classifier:PATH.safetensors."""
    if not arg:
        raise EcogenError("extractor 'classifier' needs a path: classifier:PATH.safetensors")
    return load_classifier(arg)


__all__ = ["ClassifierNet", "ClassifierReport", "load_classifier", "train_classifier"]
