"""Reproduce the bundled `fashion` feature extractor (src/ecogen/metrics/weights/fashion_classifier.*).

Trains ecogen's small classifier on Fashion-MNIST's 60,000 training images (32x32 padded, exactly what
`ecogen train --data fashion-mnist` feeds a model), reports accuracy on the official 10,000 test images and
writes safetensors + JSON. It is the fast quality check for training on this set: Inception inside the
training loop is too slow on a CPU.

    python scripts/train_fashion_extractor.py [--epochs 4]
"""

import argparse
from pathlib import Path

from ecogen.config import DataConfig
from ecogen.metrics.extractors.classifier import BUNDLED_FASHION, train_classifier

OUT = Path(__file__).resolve().parents[1] / "src" / "ecogen" / "metrics" / "weights" / BUNDLED_FASHION

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    report = train_classifier(DataConfig(source="fashion-mnist", image_size=32), OUT, epochs=args.epochs, seed=0)
    print(f"held-out (official test split) accuracy {report.accuracy:.2%} -> {report.path}")
