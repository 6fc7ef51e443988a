"""Generation: a trained generator loaded from a run, ready to sample."""

from ecogen.generation.sampler import TrainedGenerator

__all__ = ["TrainedGenerator"]
