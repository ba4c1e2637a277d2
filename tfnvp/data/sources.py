"""`load`: a data source by name or path -> `DataBundle` of unbatched splits.

    digits                     scikit-learn's 8x8 digits (embedded), 17 levels, 360 test (by seed)
    moons, circles, ...        2-D toy densities generated locally (TOY_DATASETS)
    mnist, cifar10, ...        TensorFlow Datasets: the table's sets, or any TFDS image set
    power, gas, hepmass, ...   the MAF paper's tabular sets, from the files in `data_dir`
                               (tabular_sources.py)
    FILE.npy / .npz / .csv     floats [N, D] are vectors; integers [N, H, W(, C)] are images; an
                               .npz with 'train' (and 'test', 'validation') arrays keeps its splits
    a folder of .png / .jpg    images, all of one size (or resized to `image_size`)

A name above wins over a file of the same name; an existing file or folder wins over the rest
of the TFDS catalogue.
"""
import os

import numpy as np

from tfnvp.bijectors.logit import check_levels
from tfnvp.data.bundle import DataBundle
from tfnvp.data.mirror_symmetry import looks_mirror_symmetric
from tfnvp.data.tabular_sources import TABULAR_DIMS, TABULAR_SOURCES, load_tabular
from tfnvp.data.tfds_sources import TFDS_SOURCES, load_tfds, tfds_source
from tfnvp.data.validation import (
    check_image_size,
    check_images,
    check_no_image_size,
    check_no_levels,
    check_validation_fraction,
    check_vectors,
    split,
)

__all__ = ["KNOWN_DATASETS", "TOY_DATASETS", "load", "local_path"]

TOY_DATASETS = ("moons", "circles", "checkerboard", "8gaussians", "spirals")
KNOWN_DATASETS = ("digits", *TOY_DATASETS, *TABULAR_SOURCES, *TFDS_SOURCES)
TOY_SIZES = (10_000, 2_000, 2_000)  # train, validation, test
DIGITS_TEST_SIZE = 360
FILE_TYPES = (".npy", ".npz", ".csv")
NAMED_SPLITS = ("train", "validation", "test")  # the arrays of an .npz that names its splits


def load(source, *, levels=None, validation_fraction=0.1, seed=0, data_dir=None,
         image_size=None):
    """Load `source` (a name in `KNOWN_DATASETS`, another TFDS image set, or a path) into a
    `DataBundle`.

    `levels`: discrete values per entry of integer images (default 256; digits 17; a TFDS set's
    from its image feature), refused for continuous vectors. `validation_fraction`: the share of
    the training data held out when the source has no validation split. `image_size`: resize the
    images of a folder or a TFDS set to squares of this side. `data_dir`: where TFDS keeps its
    prepared sets (default `TFDS_DATA_DIR`, else `~/tensorflow_datasets`); for the tabular sets
    (`TABULAR_SOURCES`), the folder holding the MAF files (required)."""
    validation_fraction = check_validation_fraction(validation_fraction)
    levels = None if levels is None else check_levels(levels)
    image_size = None if image_size is None else check_image_size(image_size)
    if source == "digits":
        check_no_image_size(image_size, "digits")
        return _digits(levels, validation_fraction, seed)
    if source in TOY_DATASETS:
        check_no_image_size(image_size, source)
        check_no_levels(levels, source, (2,))
        rng = np.random.default_rng(seed)
        train, validation, test = (_toy(source, n, rng) for n in TOY_SIZES)
        return DataBundle.from_arrays(source, train=train, validation=validation, test=test,
                                      levels=None)
    if source in TABULAR_SOURCES:
        check_no_image_size(image_size, source)
        check_no_levels(levels, source, (TABULAR_DIMS[source],))
        return load_tabular(source, data_dir)
    if local_path(source) is not None or _names_a_file(source):
        return _load_file(source, levels, validation_fraction, seed, image_size)
    bundle = load_tfds(source, levels=levels, validation_fraction=validation_fraction,
                       data_dir=data_dir, image_size=image_size)
    if bundle is None:
        raise ValueError(f"unknown dataset {source!r}; expected one of "
                         f"{', '.join(KNOWN_DATASETS)}, another TensorFlow Datasets image set, "
                         f"or an existing file or folder")
    return bundle


def local_path(source):
    """The absolute path of `source` when `load` reads it as the user's file or folder (it
    exists and is not a name in `KNOWN_DATASETS`), else None."""
    if (source == "digits" or source in TOY_DATASETS or source in TABULAR_SOURCES
            or tfds_source(source) is not None):
        return None
    return os.path.abspath(source) if os.path.exists(source) else None


def _names_a_file(source):
    """`source` can only mean a path (a file type of ours, or an explicit folder)."""
    return (os.path.splitext(source)[1].lower() in FILE_TYPES
            or source.startswith((".", os.sep)) or source.endswith(os.sep))


def _digits(levels, validation_fraction, seed):
    from sklearn.datasets import load_digits
    x = load_digits().images.reshape(-1, 8, 8, 1)
    order = np.random.default_rng(seed).permutation(len(x))
    levels = 17 if levels is None else levels
    x = check_images(x, levels, "digits")
    test, rest = x[order[:DIGITS_TEST_SIZE]], x[order[DIGITS_TEST_SIZE:]]
    num_validation = int(round(validation_fraction * len(rest)))
    return DataBundle.from_arrays("digits", train=rest[num_validation:],
                                  validation=rest[:num_validation], test=test, levels=levels)


def _toy(name, n, rng):
    """n 2-D points of a toy density, roughly unit scale: float [n, 2]."""
    if name == "moons":
        from sklearn.datasets import make_moons
        x = make_moons(n, noise=0.05, random_state=rng.integers(2**31))[0]
        return (x - [0.5, 0.25]) / [0.9, 0.5]
    if name == "circles":
        from sklearn.datasets import make_circles
        return 1.5 * make_circles(n, noise=0.04, factor=0.5, random_state=rng.integers(2**31))[0]
    if name == "checkerboard":
        x1 = rng.uniform(-2, 2, n)
        x2 = rng.uniform(0, 1, n) + rng.integers(0, 2, n) * 2 - 2 + (np.floor(x1) % 2)
        return np.stack([x1, x2], 1)
    if name == "8gaussians":
        angles = rng.integers(0, 8, n) * np.pi / 4
        centers = 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
        return (centers + 0.1 * rng.standard_normal((n, 2))) / 1.414
    # spirals: two interleaved arms
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi
    sign = rng.choice([-1.0, 1.0], n)
    x = sign[:, None] * np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3 * np.pi)
    return 2 * x + 0.05 * rng.standard_normal((n, 2))


def _load_arrays(path):
    """The arrays of a file: `{None: x}`, or the splits an .npz names (`{"train": x, ...}`)."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        return {None: np.load(path)}
    if ext == ".npz":
        with np.load(path) as f:
            named = [k for k in NAMED_SPLITS if k in f.files]
            if named and "train" not in named:
                raise ValueError(f"{path}: .npz file has {', '.join(map(repr, named))} arrays but "
                                 f"no 'train'; expected 'train' (and 'test', 'validation')")
            if named:
                return {k: f[k] for k in named}
            key = next((k for k in ("x", "data") if k in f.files), None)
            if key is None and len(f.files) == 1:
                key = f.files[0]
            if key is None:
                held = ", ".join(map(repr, f.files)) if f.files else "no arrays"
                raise ValueError(f"{path}: .npz file holds {held}; expected one array, one named "
                                 f"'x' or 'data', or splits 'train' (and 'test', 'validation')")
            return {None: f[key]}
    if ext == ".csv":
        with open(path) as f:
            first = f.readline()
        try:
            [float(v) for v in first.strip().split(",")]
            skip = 0
        except ValueError:
            skip = 1
        return {None: np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)}
    raise ValueError(f"{path}: unsupported file type {ext!r}; expected .npy, .npz, .csv or a "
                     f"directory of images")


def _load_image_dir(path, image_size):
    from PIL import Image
    files = sorted(f for f in os.listdir(path) if f.lower().endswith((".png", ".jpg", ".jpeg")))
    if not files:
        raise ValueError(f"{path}: directory holds no .png/.jpg images (empty dataset)")
    images = []
    for f in files:
        img = Image.open(os.path.join(path, f)).convert("RGB")
        if image_size is not None:
            img = img.resize((image_size, image_size))
        images.append(np.asarray(img))
    shapes = {i.shape for i in images}
    if len(shapes) > 1:
        raise ValueError(f"{path}: images have different sizes {sorted(shapes)}; pass "
                         f"`image_size` to resize them")
    return np.stack(images)


def _load_file(path, levels, validation_fraction, seed, image_size):
    """The user's file or folder: its named splits, else a random train/validation/test split."""
    if not os.path.exists(path):
        raise ValueError(f"data path {path!r} does not exist")
    if os.path.isdir(path):
        arrays = {None: _load_image_dir(path, image_size)}
    else:
        check_no_image_size(image_size, path)
        arrays = {key: np.asarray(x) for key, x in _load_arrays(path).items()}
    is_image = next(iter(arrays.values())).ndim in (3, 4)  # of the whole array or of 'train'
    if is_image:
        levels = 256 if levels is None else levels
    checked = {}
    for key, x in arrays.items():
        where = path if key is None else f"{path}[{key!r}]"
        if x.size == 0:
            raise ValueError(f"{where}: empty dataset (shape {x.shape})")
        x = x.astype(np.float64)
        checked[key] = check_images(x, levels, where) if is_image else check_vectors(x, where)
    shapes = {key: x.shape[1:] for key, x in checked.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"{path}: the splits hold examples of different shapes ("
                         + ", ".join(f"{k!r} {s}" for k, s in shapes.items())
                         + "); expected one shape")
    if not is_image:
        check_no_levels(levels, path, shapes[next(iter(shapes))])
    if None in checked:
        train, validation, test = split(checked[None], validation_fraction, seed, with_test=True)
    else:
        train, validation, test = (checked.get(k) for k in ("train", "validation", "test"))
        if validation is None:  # cut from 'train', as for a source without splits
            train, validation, _ = split(train, validation_fraction, seed, with_test=False)
    # Image files are flipped left-right in training when they look mirror-symmetric (photo
    # patches: -0.08 bits/dim held out; the digits, which do not, would lose 0.018)
    flip, accuracy = looks_mirror_symmetric(train) if is_image else (False, None)
    return DataBundle.from_arrays(path, train=train, validation=validation, test=test,
                                  levels=levels if is_image else None, horizontal_flip=flip,
                                  mirror_accuracy=accuracy)
