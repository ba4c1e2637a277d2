"""Data for tfnvp: a source (a name or the user's file) -> `DataBundle` of unbatched splits, and
`batches`, the training / evaluation stream.

    bundle.py         DataBundle: the splits and what they hold (shape, levels, sizes)
    validation.py     checks on arrays (finite, rank, integer pixels in range) and the split
    sources.py        `load`: embedded sets (digits, 2-D toys), the user's files, TFDS by name
    tfds_sources.py   TensorFlow Datasets image sets: one table of what each one needs
    pipeline.py       `batches`: shuffle, batch, dequantise (x + U[0, 1)), flip

Examples are float32 in raw units: images `[H, W, C]` with integer values in `[0, levels)` (not
yet dequantised), vectors `[D]`. Bad input raises `ValueError` naming the parameter in backticks
(`` `levels` ``), which the `tfnvp` command shows as its flag (`--levels`).
"""
from tfnvp.data.bundle import DataBundle
from tfnvp.data.pipeline import batches
from tfnvp.data.sources import KNOWN_DATASETS, TOY_DATASETS, load
from tfnvp.data.tfds_sources import TFDS_SOURCES, tfds_source

__all__ = ["DataBundle", "KNOWN_DATASETS", "TFDS_SOURCES", "TOY_DATASETS", "batches", "load",
           "tfds_source"]
