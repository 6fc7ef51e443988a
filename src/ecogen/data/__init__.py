"""Data: sources -> fitted ImageSet -> seeded split -> seeded batch stream."""

from ecogen.data.dataset import PreparedData, prepare_data
from ecogen.data.imageset import ImageSet
from ecogen.data.sources import SOURCES, load_source
from ecogen.data.split import Split, make_split
from ecogen.data.stream import BatchStream

__all__ = ["SOURCES", "BatchStream", "ImageSet", "PreparedData", "Split", "load_source", "make_split", "prepare_data"]
