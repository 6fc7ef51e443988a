"""On an NVIDIA GPU (skipped elsewhere; benchmarks/gpu_check.sh runs them with ``-m cuda``): training,
bf16, checkpoints that move between devices, fast sampling, the GPU's energy counter, and DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from ecogen import api
from tests.conftest import tiny_config

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")]


@pytest.mark.parametrize("model", ["dcgan", "vae"])
def test_trains_on_the_gpu_and_its_checkpoint_samples_the_same_on_the_cpu(tmp_path, model):
    result = api.train(tiny_config(device="cuda", model={"name": model, "width_mult": 0.25, "latent_dim": 16},
                                   eval_every=3, eval_n=64), tmp_path / "run", progress=False)
    assert result.stop_reason == "completed" and result.record is not None
    assert any(s["domain"] == "gpu" and s["wh"] > 0 for s in result.record.sensors)  # NVML counted the GPU
    gpu, cpu = api.load(tmp_path / "run", device="cuda"), api.load(tmp_path / "run", device="cpu")
    a, b = gpu.sample(16, seed=3), cpu.sample(16, seed=3)
    assert torch.allclose(a, b, atol=1e-3)


def test_bf16_training_stays_finite(tmp_path):
    result = api.train(tiny_config(device="cuda", precision="bf16", channels_last=True), tmp_path / "run",
                       progress=False)
    assert result.stop_reason == "completed"
    assert all(torch.isfinite(torch.tensor(v)) for v in result.last.values())


def test_fast_sampling_is_close_to_fp32(tmp_path):
    api.train(tiny_config(device="cuda"), tmp_path / "run", progress=False)
    plain = api.load(tmp_path / "run", device="cuda").sample(64, seed=0)
    fast = api.load(tmp_path / "run", device="cuda")
    fast.enable_fast()
    assert (plain - fast.sample(64, seed=0, batch_size=64)).abs().mean() < 0.05


def test_two_ranks_on_the_gpus_here(tmp_path):
    """nccl with one GPU per rank where there are two; otherwise both ranks share GPU 0 over gloo."""
    out = tmp_path / "ddp"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "ecogen", "train", "--data", "digits", "--image-size", "16", "--steps", "4",
                           "--batch-size", "8", "--device", "cuda", "--out", str(out), "--json", "--quiet"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(proc.stdout)["record"]
    assert record["world_size"] == 2 and all(r["device"].startswith("cuda") for r in record["ranks"])
