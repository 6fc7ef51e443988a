"""Memorisation: each generated image's nearest training image in feature space, and the share of near-copies.

A generator that returns its training images scores well on FID and KID against that data, so a good
score on a small set proves little by itself. The test is the ratio test of the memorisation studies of
generative models (Yoon et al. 2023; Gu et al. 2023): an image is a *near-copy* when its nearest training
image is closer than ``ratio`` (1/3) times its second-nearest. A copy sits on one training image and
stands apart from the rest; a new image sits among several. Near-duplicates in the data (an emoji and
its skin tones) count as one image each, so a copy of one of them is still caught. The same test on the
held-out real images gives what images the generator never saw score, to read the share against.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

COPY_RATIO = 1.0 / 3.0
PAIRS_SHOWN = 8
_CHUNK = 1024


@dataclass(frozen=True)
class Pair:
    fake: int  # index into the generated set
    train: int  # index into the training split
    distance: float
    ratio: float  # nearest over second-nearest training distance


@dataclass(frozen=True)
class CopyCheck:
    ratio: float  # the threshold: a near-copy when nearest < ratio x second-nearest
    share: float  # of the generated images that are near-copies
    heldout_share: float | None  # the same test on held-out real images (None: no held-out split)
    n_fake: int
    n_train: int
    median_distance: float  # generated -> nearest training image
    heldout_median_distance: float | None
    closest: list[Pair]  # the generated images closest to a training image, closest first

    def as_dict(self) -> dict:
        return asdict(self)


def nearest_two(query: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Euclidean distance of each query row to its nearest and second-nearest training row, and the
    nearest's index; in chunks, so 10,000 x 60,000 pairs never sit in memory at once."""
    if len(train) < 2:
        raise ValueError("the copy check needs at least 2 training images")
    bank = torch.from_numpy(np.ascontiguousarray(train, dtype=np.float64))
    d1, d2, idx = [], [], []
    for start in range(0, len(query), _CHUNK):
        block = torch.from_numpy(np.ascontiguousarray(query[start:start + _CHUNK], dtype=np.float64))
        dist, index = torch.cdist(block, bank).topk(2, dim=1, largest=False)
        d1.append(dist[:, 0]), d2.append(dist[:, 1]), idx.append(index[:, 0])
    return torch.cat(d1).numpy(), torch.cat(d2).numpy(), torch.cat(idx).numpy()


def _ratios(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """nearest / second-nearest; 0 where both are 0 (a copy of an image the data holds twice)."""
    return np.divide(d1, d2, out=np.zeros_like(d1), where=d2 > 0)


def check_copies(fake: np.ndarray, train: np.ndarray, heldout: np.ndarray | None = None,
                 ratio: float = COPY_RATIO, pairs: int = PAIRS_SHOWN) -> CopyCheck:
    """The near-copy share of ``fake`` (N x D features) against ``train``, with held-out real images
    as the reference when given."""
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"the copy ratio must lie in (0, 1), got {ratio}")
    d1, d2, idx = nearest_two(fake, train)
    r = _ratios(d1, d2)
    order = np.argsort(d1, kind="stable")[:pairs]
    held_share = held_median = None
    if heldout is not None and len(heldout):
        h1, h2, _ = nearest_two(heldout, train)
        held_share, held_median = float(np.mean(_ratios(h1, h2) < ratio)), float(np.median(h1))
    return CopyCheck(
        ratio=ratio, share=float(np.mean(r < ratio)), heldout_share=held_share, n_fake=len(fake), n_train=len(train),
        median_distance=float(np.median(d1)), heldout_median_distance=held_median,
        closest=[Pair(int(i), int(idx[i]), float(d1[i]), float(r[i])) for i in order],
    )
