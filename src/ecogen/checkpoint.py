"""Checkpoints: tensors in safetensors plus a JSON file with config and counters. Never pickle.

``checkpoints/step_00000700.safetensors`` holds model, optimizer and RNG tensors;
``checkpoints/step_00000700.json`` holds the format tag, counters, config, optimizer hyper-parameters
and the tensors' SHA-256. The JSON is written last, so its presence marks a complete checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors.torch import load_file, save_file
from torch import nn

from ecogen.base import atomic
from ecogen.errors import CheckpointError

FORMAT = "ecogen.checkpoint"
VERSION = 1
_NAME = re.compile(r"^step_(\d{8})\.json$")


@dataclass(frozen=True)
class Checkpoint:
    path: Path  # the JSON file
    meta: dict[str, Any]
    tensors: dict[str, torch.Tensor]

    @property
    def step(self) -> int:
        return int(self.meta["step"])

    def module_state(self, name: str) -> dict[str, torch.Tensor]:
        prefix = f"model.{name}."
        return {k[len(prefix) :]: v for k, v in self.tensors.items() if k.startswith(prefix)}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _flatten_optimizer(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{name}.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(name: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    prefix = f"optim.{name}."
    for key, value in tensors.items():
        if key.startswith(prefix):
            index, field = key[len(prefix) :].split(".", 1)
            state.setdefault(int(index), {})[field] = value
    for key, value in meta["scalars"].items():
        index, field = key.split(".", 1)
        state.setdefault(int(index), {})[field] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save(
    folder: Path,
    step: int,
    modules: nn.ModuleDict,
    optimizers: dict[str, torch.optim.Optimizer],
    rng: dict[str, torch.Tensor],
    meta: dict[str, Any],
    state: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write one checkpoint atomically and return its JSON path; ``state``: a training family's own
    tensors (``state.NAME``)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in modules.state_dict().items()}
    optim_meta = {}
    for name, optimizer in optimizers.items():
        flat, optim_meta[name] = _flatten_optimizer(name, optimizer)
        tensors.update(flat)
    tensors.update({f"rng.{k}": v.cpu().contiguous() for k, v in rng.items()})
    tensors.update({f"state.{k}": v.detach().cpu().contiguous() for k, v in (state or {}).items()})
    stem = folder / f"step_{step:08d}"
    tensor_path = stem.with_suffix(".safetensors")
    atomic.write_with(tensor_path, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT}))
    record = {
        "format": FORMAT,
        "version": VERSION,
        "step": step,
        "tensors": tensor_path.name,
        "sha256": sha256(tensor_path),
        "optimizers": optim_meta,
        **meta,
    }
    atomic.write_json(stem.with_suffix(".json"), record)
    return stem.with_suffix(".json")


def list_checkpoints(folder: Path, notices: list[str] | None = None) -> list[Path]:
    """JSON files of complete checkpoints, oldest first; a linked folder or file is not one of them (and
    with ``notices``, a linked record is said there, as a damaged one is)."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    named = sorted(p for p in folder.iterdir() if _NAME.match(p.name))
    if notices is not None:
        notices.extend(f"passed over {p.name}: a link (links are not followed)" for p in named if p.is_symlink())
    return [p for p in named if not p.is_symlink()]


def prune(folder: Path, keep: int) -> None:
    for old in list_checkpoints(folder)[:-keep]:
        old.with_suffix(".safetensors").unlink(missing_ok=True)
        old.unlink(missing_ok=True)


class _OptimizerMeta(BaseModel):
    param_groups: list[dict[str, Any]]
    scalars: dict[Annotated[str, Field(pattern=r"^\d+\.\w+$")], float | int | bool | None]


class _Meta(BaseModel):
    """The checkpoint JSON's schema: a hand-edited or damaged file is refused here, naming the field."""

    model_config = ConfigDict(extra="allow")
    format: Literal["ecogen.checkpoint"]
    version: Literal[1]
    step: Annotated[int, Field(ge=0, le=10**9, strict=True)]  # a billion steps is past any run
    tensors: Annotated[str, Field(pattern=r"^step_\d{8}\.safetensors$")]  # a name beside the JSON, no path
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    optimizers: dict[str, _OptimizerMeta] = {}
    config: dict[str, Any] = {}


MAX_JSON_BYTES = 16 << 20


def read_json(path: Path) -> Any:
    """A checkpoint's JSON: a regular file inside its folder (no link out of the run), of sane size."""
    if path.is_symlink() or not path.is_file():
        raise CheckpointError(f"{path}: not a regular file (links are not followed)")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise CheckpointError(f"{path}: too large for a checkpoint record")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError(f"{path}: not an ecogen checkpoint (unreadable or not JSON)") from None


def read(path: Path) -> Checkpoint:
    """Load and verify one checkpoint; anything foreign, corrupt, pickled or non-finite is refused."""
    meta = read_json(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an ecogen checkpoint (format tag missing)")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {str(meta.get('version'))[:20]} is not supported")
    try:
        _Meta.model_validate(meta)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CheckpointError(f"{path}: damaged checkpoint record ({where}: {first['msg']})") from None
    tensor_path = path.parent / meta["tensors"]
    if tensor_path.is_symlink() or not tensor_path.is_file():
        raise CheckpointError(f"{path}: its tensor file {tensor_path.name} is missing (or a link)")
    if sha256(tensor_path) != meta.get("sha256"):
        raise CheckpointError(f"{tensor_path}: contents do not match the checkpoint's SHA-256 (corrupt or replaced)")
    try:
        tensors = load_file(str(tensor_path))
    except Exception as err:  # safetensors raises its own error types for any malformed file
        raise CheckpointError(f"{tensor_path}: not a valid safetensors file ({err.__class__.__name__})") from None
    bad = [k for k, v in tensors.items() if k.startswith("model.") and v.is_floating_point() and not v.isfinite().all()]
    if bad:
        raise CheckpointError(f"{path}: non-finite weights ({bad[0]}): the run had diverged at this step")
    return Checkpoint(path, meta, tensors)


def latest(folder: Path, notices: list[str] | None = None) -> Checkpoint:
    """The newest checkpoint. With ``notices`` (resume), a damaged newer one is passed over and said
    there; without (sampling), a damaged newest one is an error, never silently replaced by an older."""
    found = list_checkpoints(folder, notices)
    if not found:
        raise CheckpointError(f"no checkpoint found in {folder}")
    if notices is None:
        return read(found[-1])
    first_error = None
    for path in reversed(found):
        try:
            return read(path)
        except CheckpointError as err:
            first_error = first_error or err
            if notices is not None:
                notices.append(f"passed over {path.name}: {err}")
    raise first_error


def remove_leftovers(folder: Path) -> None:
    """Temporary files of writes that a kill interrupted (atomic writes leave ``.NAME.*.tmp``)."""
    if folder.is_dir() and not folder.is_symlink():
        for tmp in folder.glob(".step_*.tmp"):
            tmp.unlink(missing_ok=True)


def select(run_root: Path, which: str | int = "latest") -> Checkpoint:
    """A run's checkpoint by name: ``latest``, ``best`` (the best quality check, in ``best/``) or a step."""
    which = str(which)
    if which == "latest":
        return latest(run_root / "checkpoints")
    if which == "best":
        found = list_checkpoints(run_root / "best")
        if not found:
            raise CheckpointError(f"{run_root} has no best checkpoint (it comes from quality checks: --eval-every "
                                  f"or a --target-fid/--target-kid)")
        return read(found[-1])
    if not which.isdigit():
        raise CheckpointError(f"checkpoint {which!r}: use latest, best or a step number")
    found = [p for p in list_checkpoints(run_root / "checkpoints") + list_checkpoints(run_root / "best")
             if int(_NAME.match(p.name).group(1)) == int(which)]
    if not found:
        steps = sorted({int(_NAME.match(p.name).group(1)) for p in list_checkpoints(run_root / "checkpoints")})
        raise CheckpointError(f"no checkpoint at step {which} in {run_root}; kept steps: "
                              f"{', '.join(map(str, steps)) or 'none'}")
    return read(found[0])


def restore_optimizer(optimizer: torch.optim.Optimizer, name: str, checkpoint: Checkpoint) -> None:
    """Optimizer state, checked against the parameters it belongs to before anything is changed."""
    where = checkpoint.path
    if name not in checkpoint.meta.get("optimizers", {}):
        raise CheckpointError(f"{where}: no state for optimizer {name!r}")
    try:
        state = _unflatten_optimizer(name, checkpoint.tensors, checkpoint.meta["optimizers"][name])
    except (KeyError, ValueError, TypeError, AttributeError):
        raise CheckpointError(f"{where}: damaged state for optimizer {name!r}") from None
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, values in state["state"].items():
        if not 0 <= index < len(params):
            raise CheckpointError(f"{where}: optimizer {name!r} has state for a parameter that does not exist")
        for key, value in values.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != params[index].shape:
                raise CheckpointError(f"{where}: optimizer {name!r} state {key} has shape {tuple(value.shape)}, "
                                      f"not the parameter's {tuple(params[index].shape)}")
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise CheckpointError(f"{where}: optimizer {name!r} state does not fit ({err.__class__.__name__})") from None


def restore_module(module: nn.Module, state: dict[str, torch.Tensor], where: Path) -> None:
    """Load weights that fit exactly: names, shapes and dtypes (load_state_dict would cast int32 weights
    to float silently, and sampling would give garbage)."""
    expected = module.state_dict()
    wrong = [k for k, v in state.items() if k in expected and v.dtype != expected[k].dtype]
    if wrong:
        k = wrong[0]
        raise CheckpointError(f"{where}: tensor {k} is {str(state[k].dtype).removeprefix('torch.')}, the model "
                              f"needs {str(expected[k].dtype).removeprefix('torch.')} (a foreign or hand-made file)")
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{where}: weights do not fit the model described in it ({first})") from None
