"""Transformations of existing images: reconstruct, denoise, inpaint, interpolate (and corrupt, for tests)."""

from ecogen.transforms.latent import LatentModel
from ecogen.transforms.ops import TRANSFORMS, corrupt, inpaint, interpolate, reconstruct, slerp
from ecogen.transforms.run import TransformResult, apply, corrupt_files, interpolate_files

__all__ = [
    "TRANSFORMS",
    "LatentModel",
    "TransformResult",
    "apply",
    "corrupt",
    "corrupt_files",
    "inpaint",
    "interpolate",
    "interpolate_files",
    "reconstruct",
    "slerp",
]
