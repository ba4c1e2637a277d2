"""The tabular density-estimation sets of the MAF paper (Papamakarios, Pavlakou and Murray, 2017),
read from the files the user downloads, with that paper's preprocessing and splits.

`data_dir` holds the MAF repository's layout (the archive most code uses is `data.tar.gz` of
https://zenodo.org/record/1161203, which unpacks to this under `data/`):

    name       file(s) under data_dir                      D   preprocessing (as the MAF code)
    power      power/data.npy                              6   shuffled (seed 42); 2 columns
                                                               dropped; uniform noise on the
                                                               recorded grids; standardised
    gas        gas/ethylene_CO.pickle (pandas)             8   Meth, Eth, Time dropped; columns
                                                               correlated > 0.98 dropped;
                                                               standardised
    hepmass    hepmass/1000_train.csv, 1000_test.csv      21   signal rows (label 1); train-set
                                                               standardised; features whose
                                                               smallest value repeats > 5 times
                                                               dropped
    miniboone  miniboone/data.npy                         43   standardised
    bsds300    BSDS300/BSDS300.hdf5 (h5py)                63   as stored (train/validation/test)

Splits as the MAF code makes them: the last 10% is the test set and the last 10% of the rest the
validation set (hepmass: its own test file, validation the last 10% of train; bsds300: stored).
"""
import os

import numpy as np

from tfnvp.data.bundle import DataBundle
from tfnvp.data.validation import check_finite

__all__ = ["TABULAR_DIMS", "TABULAR_FILES", "TABULAR_SOURCES", "load_tabular"]

TABULAR_FILES = {
    "power": ("power/data.npy",),
    "gas": ("gas/ethylene_CO.pickle",),
    "hepmass": ("hepmass/1000_train.csv", "hepmass/1000_test.csv"),
    "miniboone": ("miniboone/data.npy",),
    "bsds300": ("BSDS300/BSDS300.hdf5",),
}
TABULAR_SOURCES = tuple(TABULAR_FILES)
TABULAR_DIMS = {"power": 6, "gas": 8, "hepmass": 21, "miniboone": 43, "bsds300": 63}
DOWNLOAD = "https://zenodo.org/record/1161203 (data.tar.gz)"


def load_tabular(name, data_dir):
    """The `DataBundle` of the MAF set `name` (in `TABULAR_SOURCES`) read from `data_dir`."""
    if data_dir is None:
        raise ValueError(f"{name!r} is read from `data_dir`, the folder holding the MAF "
                         f"repository's layout ({', '.join(TABULAR_FILES[name])}); none given. "
                         f"The files: {DOWNLOAD}")
    paths = [os.path.join(data_dir, f) for f in TABULAR_FILES[name]]
    for path in paths:
        if not os.path.isfile(path):
            raise ValueError(f"missing {path}: {name!r} reads {', '.join(TABULAR_FILES[name])} "
                             f"under `data_dir` (the MAF repository's layout); the files: "
                             f"{DOWNLOAD}")
    train, validation, test = _READERS[name](*paths)
    for split, x in (("train", train), ("validation", validation), ("test", test)):
        if len(x) == 0:
            raise ValueError(f"{paths[0]}: too few rows for a {split} split (got "
                             f"{len(train) + len(validation) + len(test)} rows in all)")
        check_finite(x, f"{name} ({split})")
    return DataBundle.from_arrays(name, train=train, validation=validation, test=test,
                                  levels=None)


def _power(path):
    data = _columns(np.load(path), 8, path)
    rng = np.random.RandomState(42)  # the MAF code's generator, in its order of draws
    rng.shuffle(data)
    n = data.shape[0]
    data = np.delete(np.delete(data, 3, axis=1), 1, axis=1)  # global intensity, reactive power
    voltage_noise = 0.01 * rng.rand(n, 1)
    active_power_noise = 0.001 * rng.rand(n, 1)
    sub_metering_noise = rng.rand(n, 3)
    data = data + np.hstack((active_power_noise, voltage_noise, sub_metering_noise,
                             np.zeros((n, 1))))  # the time column gets none
    return _standardised(*_tail_splits(data))


def _gas(path):
    try:
        import pandas
    except ImportError:
        raise ValueError(f"{path} is a pandas pickle: reading it needs pandas (pip install "
                         f"pandas, or pip install 'tfnvp[tabular]')") from None
    frame = pandas.read_pickle(path)
    names = [c for c in frame.columns if c not in ("Meth", "Eth", "Time")]
    data = frame[names].to_numpy(np.float64)
    while True:  # drop the first column correlated > 0.98 with another, until none is
        correlated = (np.corrcoef(data, rowvar=False) > 0.98).sum(axis=1) > 1
        if not correlated.any():
            break
        data = np.delete(data, np.flatnonzero(correlated)[0], axis=1)
    data = (data - data.mean(axis=0)) / data.std(axis=0, ddof=1)  # pandas' std
    return _tail_splits(data)


def _hepmass(train_path, test_path):
    train, test = _signal_rows(train_path), _signal_rows(test_path)[:, :-1]  # as the MAF code
    # features whose smallest value occurs more than 5 times (the discrete ones, the mass among
    # them) are dropped; the MAF code counts after standardising, which keeps the counts
    keep = [j for j, column in enumerate(train.T) if np.sum(column == column.min()) <= 5]
    if keep and keep[-1] >= test.shape[1]:
        raise ValueError(f"{test_path}: {test.shape[1] + 1} feature columns, but the training "
                         f"file's feature {keep[-1]} is continuous; expected the HEPMASS files")
    train, test = train[:, keep], test[:, keep]
    mean, std = train.mean(axis=0), train.std(axis=0, ddof=1)  # pandas' std, of train
    train, test = (train - mean) / std, (test - mean) / std
    num_validation = int(0.1 * len(train))
    return train[:len(train) - num_validation], train[len(train) - num_validation:], test


def _miniboone(path):
    return _standardised(*_tail_splits(np.load(path).astype(np.float64)))


def _bsds300(path):
    import h5py  # installed with TensorFlow
    with h5py.File(path, "r") as f:
        missing = [k for k in ("train", "validation", "test") if k not in f]
        if missing:
            raise ValueError(f"{path}: no {missing[0]!r} dataset; expected 'train', "
                             f"'validation' and 'test'")
        return tuple(np.asarray(f[k][:], np.float64) for k in ("train", "validation", "test"))


def _columns(data, expected, path):
    data = np.asarray(data, np.float64)
    if data.ndim != 2 or data.shape[1] != expected:
        raise ValueError(f"{path}: shape {data.shape}; expected [N, {expected}]")
    return data


def _tail_splits(data):
    """The MAF split: test = the last 10%, validation = the last 10% of the rest."""
    num_test = int(0.1 * len(data))
    data, test = data[:len(data) - num_test], data[len(data) - num_test:]
    num_validation = int(0.1 * len(data))
    return data[:len(data) - num_validation], data[len(data) - num_validation:], test


def _standardised(train, validation, test):
    """Each split minus the mean, over the std (NumPy's), of train and validation together."""
    both = np.vstack((train, validation))
    mean, std = both.mean(axis=0), both.std(axis=0)
    return tuple((x - mean) / std for x in (train, validation, test))


def _signal_rows(path):
    """The rows of a HEPMASS csv whose first column (the label) is 1, without the label. Only the
    header's columns are read: a trailing delimiter adds none (as pandas' `index_col=False`)."""
    with open(path) as f:
        columns = len(f.readline().split(","))
    rows = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(columns), ndmin=2)
    return rows[rows[:, 0] == 1][:, 1:]


_READERS = {"power": _power, "gas": _gas, "hepmass": _hepmass, "miniboone": _miniboone,
            "bsds300": _bsds300}
