"""Data for tfnvp: a source (a name or the user's file) -> `DataBundle` of unbatched splits, and
`batches`, the training / evaluation stream.

    bundle.py            DataBundle: the splits and what they hold (shape, levels, sizes)
    validation.py        checks on parameters and arrays (finite, rank, pixel range); the split
    sources.py           `load`: embedded sets (digits, 2-D toys), the user's files, TFDS by name
    tfds_sources.py      TensorFlow Datasets image sets: one table of tfnvp's choices, one loader
    tfds_preparation.py  a TFDS set on disk: prepared, downloaded when online, else how to get it
    tabular_sources.py   the MAF paper's tabular sets (power, gas, hepmass, miniboone, bsds300)
                         from the user's files, with that paper's preprocessing
    network.py           `is_online`: the quick reachability probe before any download
    pipeline.py          `batches`: shuffle, batch, dequantise (x + U[0, 1)), flip

Examples are float32 in raw units: images `[H, W, C]` with integer values in `[0, levels)` (not
yet dequantised), vectors `[D]`. Bad input raises `ValueError` naming the parameter in backticks
(`` `levels` ``), which the `tfnvp` command shows as its flag (`--levels`).
"""
from tfnvp.data.bundle import DataBundle
from tfnvp.data.pipeline import batches
from tfnvp.data.sources import KNOWN_DATASETS, TOY_DATASETS, load, local_path
from tfnvp.data.tabular_sources import TABULAR_SOURCES
from tfnvp.data.tfds_sources import TFDS_SOURCES, tfds_source

__all__ = ["DataBundle", "KNOWN_DATASETS", "TABULAR_SOURCES", "TFDS_SOURCES", "TOY_DATASETS",
           "batches", "load", "local_path", "tfds_source"]
