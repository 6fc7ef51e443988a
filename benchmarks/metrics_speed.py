"""Speed of the metrics on this machine: Inception feature extraction, side by side, and each metric.

    python benchmarks/metrics_speed.py [--images 64] [--bf16-images 32] [--n 10000] [--name metrics_speed]

Every Inception path runs on the same digits (32 px, grey), with the packaged FID weights, in this one
process: the TorchScript file as shipped, ecogen's plain module (NCHW and channels-last), and ecogen's
fast module (BN folded, sibling 1x1 convs merged, fused conv+ReLU) at several batch sizes and in bf16.
Each path's features are compared with the plain fp32 path's (max abs difference over max abs value).
Utilisation is FLOPs per image (FlopCounterMode) x images/s over ``ecogen calibrate``'s peak for the
same precision. The FID difference of bf16 from fp32 is on two real digit sets of --bf16-images each.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _common import machine_load, print_table, write_result
from ecogen.data import load_source
from ecogen.energy.calibrate import calibrate
from ecogen.energy.flops import count_flops
from ecogen.metrics import METRICS, Features, load_extractor
from ecogen.metrics.extractors.inception import inception_from
from ecogen.metrics.extractors.inception_weights import load_package_weights, package_file
from ecogen.metrics.fid import fid


def rate(fn, inputs: torch.Tensor, batch: int, repeats: int = 2) -> tuple[float, torch.Tensor]:
    """Images per second (best of ``repeats`` passes after a warm-up batch), and the features."""
    with torch.inference_mode():
        fn(inputs[:batch])
        best, out = float("inf"), None
        for _ in range(repeats):
            start = time.perf_counter()
            out = torch.cat([fn(chunk) for chunk in inputs.split(batch)])
            best = min(best, time.perf_counter() - start)
    return len(inputs) / best, out.float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64, help="images per fp32 path")
    parser.add_argument("--bf16-images", type=int, default=32, help="images per bf16 measurement and FID set")
    parser.add_argument("--n", type=int, default=10_000, help="set size for the metric timings")
    parser.add_argument("--name", default="metrics_speed",
                        help="result name: another CPU's run kept beside the one the docs quote")
    args = parser.parse_args()
    load_at_start = machine_load()

    digits = torch.from_numpy(load_source("mnist", 32).images)
    state, sha = load_package_weights()
    plain = inception_from(state, sha, "packaged", fast=False)
    fast = inception_from(state, sha, "packaged")
    fitted = plain.fit(digits[: args.images]).contiguous()
    start = time.perf_counter()
    plain.fit(digits[: args.images])
    resize_rate = args.images / (time.perf_counter() - start)
    flops = count_flops(lambda: plain.net(fitted[:1]))
    calibration = calibrate(torch.device("cpu"), 1.5, force=True)  # measured in this run
    peaks = calibration["peak_flops"]

    torchscript = torch.jit.load(str(package_file()), map_location="cpu").eval()
    channels_last = fitted.contiguous(memory_format=torch.channels_last)
    cl_net = inception_from(state, sha, "packaged", fast=False).net.to(memory_format=torch.channels_last)
    paths = [
        ("TorchScript as shipped, NCHW", lambda x: torchscript(x), fitted, 32, "float32"),
        ("TorchScript as shipped, channels-last", lambda x: torchscript(x), channels_last, 32, "float32"),
        ("ecogen plain, NCHW", lambda x: plain.net(x)[0], fitted, 32, "float32"),
        ("ecogen plain, channels-last", lambda x: cl_net(x)[0], channels_last, 32, "float32"),
        *[(f"ecogen fast, batch {b}", lambda x: fast.net(x)[0], fitted, b, "float32") for b in (8, 16, 32, 64)],
    ]
    results, rows = {}, []
    _, reference = rate(lambda x: plain.net(x)[0], fitted, 32, repeats=1)
    for label, fn, inputs, batch, dtype in paths:
        speed, feats = rate(fn, inputs, batch)
        diff = float((feats - reference).abs().max() / reference.abs().max())
        util = flops * speed / peaks[dtype]
        results[label] = {"images_per_s": speed, "batch": batch, "rel_diff_vs_plain": diff, "utilisation": util}
        rows.append((label, f"{speed:.2f}", f"{util:.0%}", f"{diff:.1e}"))
        print(f"  {label}: {speed:.2f} img/s", flush=True)

    bf16 = fast.variant(precision="bf16")
    n16 = min(args.bf16_images, args.images)
    speed, feats = rate(lambda x: bf16.net(x.to(torch.bfloat16))[0], fitted[:n16], 16, repeats=1)
    diff = float((feats - reference[:n16]).abs().max() / reference.abs().max())
    native_bf16 = peaks.get("bfloat16", 0.0) > peaks["float32"]  # else bf16 matmuls are emulated here
    util = flops * speed / peaks["bfloat16"] if native_bf16 else None
    results["ecogen fast, bf16, batch 16"] = {"images_per_s": speed, "batch": 16, "rel_diff_vs_plain": diff,
                                              "utilisation": util, "native_bf16": native_bf16}
    rows.append(("ecogen fast, bf16, batch 16", f"{speed:.2f}",
                 f"{util:.0%}" if util is not None else "no native bf16", f"{diff:.1e}"))

    # bf16 against fp32 where it matters: FID between two real digit sets.
    a, b = digits[:n16], digits[n16: 2 * n16]
    fid32 = fid(fast.extract(a).features, fast.extract(b).features)
    fid16 = fid(bf16.extract(a).features, bf16.extract(b).features)
    print_table(f"Inception-v3 feature extraction ({torch.get_num_threads()} threads, CPU; "
                f"{flops / 1e9:.2f} GFLOP/image; peak fp32 {peaks['float32'] / 1e9:.0f}, "
                f"bf16 {peaks['bfloat16'] / 1e9:.0f} GFLOP/s)",
                ("path", "img/s", "of peak", "features vs plain fp32"), rows)
    print(f"resize 32 -> 299 (bilinear, grey -> 3 channels): {resize_rate:,.0f} img/s; "
          f"FID of {n16} vs {n16} real digits: fp32 {fid32:.3f}, bf16 {fid16:.3f} ({fid16 - fid32:+.3f})")

    mnist = load_extractor("mnist")
    images = digits[torch.arange(args.n) % len(digits)]
    start = time.perf_counter()
    feats = mnist.extract(images)
    mnist_rate = args.n / (time.perf_counter() - start)
    rng = np.random.default_rng(0)
    sets = {
        "mnist features (128-d)": (feats, Features(feats.features[::-1].copy(), feats.probs[::-1].copy())),
        "Inception-size features (2048-d)": tuple(
            Features(np.abs(rng.normal(size=(args.n, 2048))).astype(np.float32),
                     rng.dirichlet(np.ones(1008), size=args.n).astype(np.float32))
            for _ in range(2)
        ),
    }
    metric_rows, metric_seconds = [], {}
    for label, (real, fake) in sets.items():
        for name in METRICS.names():
            start = time.perf_counter()
            METRICS.get(name)(real, fake)
            seconds = time.perf_counter() - start
            metric_rows.append((f"{name} on {args.n:,} + {args.n:,}: {label}", f"{seconds:.2f} s"))
            metric_seconds[f"{name} {label}"] = seconds
    metric_rows.insert(0, (f"extract: mnist classifier, {args.n:,} digits", f"{mnist_rate:,.0f} img/s"))
    print_table("metrics", ("work", "time"), metric_rows)

    path = write_result(args.name, {
        "threads": torch.get_num_threads(), "load_at_start": load_at_start, "weights_sha256": sha,
        "flops_per_image": flops, "peak_flops": peaks,
        "peak_flops_by_workload": calibration["by_workload"], "inception": results, "resize_images_per_s": resize_rate,
        "bf16_fid": {"images_per_set": n16, "fp32": fid32, "bf16": fid16, "difference": fid16 - fid32},
        "mnist_images_per_s": mnist_rate, "metrics_seconds": metric_seconds, "n": args.n,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
