"""Reproduce the bundled `emoji` feature extractor (src/ecogen/metrics/weights/emoji_classifier.*).

Trains ecogen's small classifier to tell the eight Unicode emoji groups apart, on the training split of
the `emoji` data (Noto Color Emoji, 32x32 RGB on white, seed 0, 10% held out: what
`ecogen train --data emoji` uses), reports held-out accuracy and writes safetensors + JSON.

    python scripts/train_emoji_extractor.py        # needs: apt-get install fonts-noto-color-emoji
"""

from pathlib import Path

from ecogen.config import DataConfig
from ecogen.metrics.extractors.classifier import BUNDLED_EMOJI, train_classifier

OUT = Path(__file__).resolve().parents[1] / "src" / "ecogen" / "metrics" / "weights" / BUNDLED_EMOJI

if __name__ == "__main__":
    report = train_classifier(DataConfig(source="emoji", image_size=32), OUT, epochs=40, seed=0)
    print(f"held-out accuracy {report.accuracy:.2%} over {len(report.classes)} groups -> {report.path}")
