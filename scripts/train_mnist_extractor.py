"""Reproduce the bundled `mnist` feature extractor (src/ecogen/metrics/weights/mnist_classifier.*).

Trains ecogen's small classifier on the training split of the bundled MNIST digits (the default split:
seed 0, 10% held out, 32x32 padded, exactly what `ecogen train --data mnist` uses), reports held-out
accuracy and writes safetensors + JSON. The same code serves `ecogen extractor train`.

    python scripts/train_mnist_extractor.py
"""

from pathlib import Path

from ecogen.config import DataConfig
from ecogen.metrics.extractors.classifier import BUNDLED_MNIST, train_classifier

OUT = Path(__file__).resolve().parents[1] / "src" / "ecogen" / "metrics" / "weights" / BUNDLED_MNIST

if __name__ == "__main__":
    report = train_classifier(DataConfig(source="mnist", image_size=32), OUT, epochs=15, seed=0)
    print(f"held-out accuracy {report.accuracy:.2%} -> {report.path}")
