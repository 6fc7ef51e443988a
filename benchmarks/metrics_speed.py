"""Speed of the metrics on this machine: feature extraction (images/s) and each metric on 10,000 images.

    python benchmarks/metrics_speed.py [--n 10000] [--inception-images 200]

The Inception extractor runs with random weights (same architecture and cost as the FID weights,
which are not shipped); its time for --n images is extrapolated from --inception-images and says so.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _common import print_table, write_result
from ecogen.data import load_source
from ecogen.metrics import METRICS, Extractor, Features, load_extractor
from ecogen.metrics.extractors.inception import FIDInception


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--inception-images", type=int, default=200)
    args = parser.parse_args()

    digits = torch.from_numpy(load_source("mnist", 32).images)
    images = digits[torch.arange(args.n) % len(digits)]
    rows, payload = [], {"n": args.n, "threads": torch.get_num_threads()}

    mnist = load_extractor("mnist")
    feats, seconds = timed(lambda: mnist.extract(images))
    rows.append(("extract: mnist classifier (28x28 digits padded to 32)", f"{args.n / seconds:,.0f} img/s", f"{seconds:.2f} s"))
    payload["mnist_images_per_s"] = args.n / seconds

    inception = Extractor("inception", FIDInception(), 299, 3, "random", {})
    small = images[: args.inception_images]
    _, seconds_i = timed(lambda: inception.extract(small, batch_size=50))
    rate = args.inception_images / seconds_i
    rows.append(("extract: Inception-v3 at 299x299 (random weights)", f"{rate:,.1f} img/s",
                 f"{args.n / rate:.0f} s for {args.n:,} (extrapolated)"))
    payload["inception_images_per_s"] = rate

    rng = np.random.default_rng(0)
    sets = {
        "mnist features (128-d)": (feats, Features(feats.features[::-1].copy(), feats.probs[::-1].copy())),
        "Inception-size features (2048-d)": tuple(
            Features(np.abs(rng.normal(size=(args.n, 2048))).astype(np.float32),
                     rng.dirichlet(np.ones(1008), size=args.n).astype(np.float32))
            for _ in range(2)
        ),
    }
    payload["metrics_seconds"] = {}
    for label, (real, fake) in sets.items():
        for name in METRICS.names():
            values, seconds = timed(lambda: METRICS.get(name)(real, fake))
            rows.append((f"{name} on {args.n:,} + {args.n:,}: {label}", "", f"{seconds:.2f} s"))
            payload["metrics_seconds"][f"{name} {label}"] = seconds

    print_table(f"metrics speed ({torch.get_num_threads()} threads, CPU)", ("work", "rate", "time"), rows)
    print(f"wrote {write_result('metrics_speed', payload)}")


if __name__ == "__main__":
    main()
