"""Turn a DataConfig into fitted images plus their recorded split."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ecogen.config import DataConfig
from ecogen.data.fit import fit
from ecogen.data.imageset import ImageSet
from ecogen.data.sources import load_source
from ecogen.data.split import Split, make_split, official_split
from ecogen.errors import DataError


@dataclass(frozen=True)
class PreparedData:
    config: DataConfig  # resolved: channels filled in
    images: ImageSet
    split: Split

    @property
    def train(self) -> ImageSet:
        return self.images.subset(self.split.train)

    @property
    def holdout(self) -> ImageSet:
        return self.images.subset(self.split.holdout)


def prepare_data(config: DataConfig, split: Split | None = None) -> PreparedData:
    """Load, fit and split. Pass a recorded ``split`` to reuse a run's exact partition."""
    raw = load_source(config.source, config.image_size, config.background)
    channels = config.channels or raw.channels
    images = fit(raw, config.image_size, channels, config.fit)
    if split is None:  # a source with an official test split (Fashion-MNIST, MNIST's IDX files) brings its own
        split = (official_split(len(images), raw.holdout) if raw.holdout is not None
                 else make_split(len(images), config.holdout, config.split_seed))
    elif max(split.train.max(initial=-1), split.holdout.max(initial=-1)) >= len(images):
        raise DataError(f"the recorded split does not fit {config.source} ({len(images)} images)")
    if len(split.train) == 0:
        raise DataError(f"no training images left after holding out {config.holdout:.0%}")
    return PreparedData(replace(config, channels=channels), images, split)
