"""Run by tests/training/test_distributed.py under torchrun (2 processes, gloo): trains several tiny runs through
the Python API and saves every rank's parameters, so the test can compare ranks and resumes."""

from __future__ import annotations

import faulthandler
import os
import sys
from pathlib import Path

import torch.distributed as dist
from safetensors.torch import save_file

from ecogen import api
from ecogen.training.hooks import Hooks

RUNS = {  # name -> options; every run: digits, 6 steps of 8 images per rank
    "gan": {},
    "vae": {"model.name": "vae"},
    "cgan": {"model.conditional": True, "model.aux_classifier": True, "model.d_conditioning": "projection",
             "model.d_norm": "spectral", "r1_gamma": 1.0, "ema_decay": 0.9},
    # a learnt decoder variance (a parameter DDP reduces) and a fitted mixture prior (buffers, not wrapped)
    "cvae": {"model.name": "vae", "model.conditional": True, "model.recon": "gaussian", "model.prior": "mixture",
             "model.prior_components": 2},
}
BASE = {"data.source": "digits", "data.image_size": 16, "batch_size": 8, "steps": 6, "log_every": 2,
        "sample_every": 1000, "checkpoint_every": 3, "model.width_mult": 0.25, "model.latent_dim": 8}


class SaveParameters(Hooks):
    """Every rank (writes = False) saves its own parameters at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def at_end(self, state, run, stop_reason: str) -> None:
        tensors = {f"{name}.{key}": p.detach().cpu().contiguous()
                   for name, module in run.modules.items() for key, p in module.named_parameters()}
        save_file(tensors, str(self.path / f"{run.run_dir.root.name}.rank{run.dist.rank}.safetensors"))


def main(out: Path, mode: str) -> None:
    faulthandler.enable()  # an abort in C++ shows the Python stack it came from
    faulthandler.dump_traceback_later(240, exit=True)  # a hang shows where it hangs, then ends the test
    rank = int(os.environ["RANK"])
    if mode == "die":  # rank 1 dies at its third step; rank 0 must stop with an error, not hang
        class Die(Hooks):
            def after_step(self, state, run) -> None:
                if rank == 1 and state.step == 3:
                    os._exit(7)
        api.train({**BASE, "steps": 50, "dist.timeout_s": 20}, out / "die", progress=False, callbacks=[Die()])
        return
    dist.init_process_group("gloo")  # one group for all runs: the API joins a group it finds
    for name, options in RUNS.items():
        api.train({**BASE, **options}, out / name, progress=False, callbacks=[SaveParameters(out)])
    # the same GAN in two sessions: 3 steps, then resumed to 6
    api.train({**BASE, "steps": 3}, out / "split", progress=False)
    api.resume(out / "split", steps=6, progress=False, callbacks=[SaveParameters(out)])
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
