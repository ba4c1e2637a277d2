"""`load`: a data source by name or path -> `DataBundle` of unbatched splits.

    digits                     scikit-learn's 8x8 digits (embedded), 17 levels, fixed 360 test
    moons, circles, ...        2-D toy densities generated locally (TOY_DATASETS)
    mnist, cifar10, ...        TensorFlow Datasets (`tfnvp.data.tfds_sources`)
    FILE.npy / .npz / .csv     floats [N, D] are vectors; integers [N, H, W(, C)] are images
    a folder of .png / .jpg    images, all of one size (or resized to `image_size`)
"""
import os

import numpy as np

from tfnvp.data.bundle import DataBundle
from tfnvp.data.tfds_sources import TFDS_SOURCES, load_tfds, tfds_source
from tfnvp.data.validation import check_images, check_validation_fraction, check_vectors, split

__all__ = ["KNOWN_DATASETS", "TOY_DATASETS", "load"]

TOY_DATASETS = ("moons", "circles", "checkerboard", "8gaussians", "spirals")
KNOWN_DATASETS = ("digits", *TOY_DATASETS, *TFDS_SOURCES)
TOY_SIZES = (10_000, 2_000, 2_000)  # train, validation, test
DIGITS_TEST_SIZE = 360


def load(source, *, levels=None, validation_fraction=0.1, seed=0, data_dir=None,
         image_size=None):
    """Load `source` (a name in `KNOWN_DATASETS` or a path) into a `DataBundle`."""
    validation_fraction = check_validation_fraction(validation_fraction)
    if source == "digits":
        return _digits(levels, validation_fraction, seed)
    if source in TOY_DATASETS:
        rng = np.random.default_rng(seed)
        train, validation, test = (_toy(source, n, rng) for n in TOY_SIZES)
        return DataBundle.from_arrays(source, train=train, validation=validation, test=test,
                                      levels=None)
    tfds = tfds_source(source)
    if tfds is not None:
        return load_tfds(source, tfds, levels=levels, validation_fraction=validation_fraction,
                         data_dir=data_dir, image_size=image_size)
    if os.sep in source or os.path.splitext(source)[1] or os.path.exists(source):
        return _load_file(source, levels, validation_fraction, seed, image_size)
    raise ValueError(f"unknown dataset {source!r}; expected one of {', '.join(KNOWN_DATASETS)} "
                     f"or a file path")


def _digits(levels, validation_fraction, seed):
    from sklearn.datasets import load_digits
    x = load_digits().images.reshape(-1, 8, 8, 1)
    order = np.random.default_rng(seed).permutation(len(x))
    test, rest = x[order[:DIGITS_TEST_SIZE]], x[order[DIGITS_TEST_SIZE:]]
    num_validation = int(round(validation_fraction * len(rest)))
    return DataBundle.from_arrays("digits", train=rest[num_validation:],
                                  validation=rest[:num_validation], test=test,
                                  levels=levels or 17)


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


def _load_array(path):
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        return np.load(path)
    if ext == ".npz":
        with np.load(path) as f:
            key = next((k for k in ("x", "data") if k in f.files), f.files[0] if f.files else None)
            if key is None:
                raise ValueError(f"{path}: .npz file holds no arrays")
            return f[key]
    if ext == ".csv":
        with open(path) as f:
            first = f.readline()
        try:
            [float(v) for v in first.strip().split(",")]
            skip = 0
        except ValueError:
            skip = 1
        return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
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
    if not os.path.exists(path):
        raise ValueError(f"data path {path!r} does not exist")
    if os.path.isdir(path):
        x, is_image = _load_image_dir(path, image_size), True
    else:
        x = np.asarray(_load_array(path))
        is_image = x.ndim in (3, 4)
    if x.size == 0 or len(x) == 0:
        raise ValueError(f"{path}: empty dataset (shape {x.shape})")
    x = x.astype(np.float64)
    levels = (levels or 256) if is_image else None
    x = check_images(x, levels, path) if is_image else check_vectors(x, path)
    train, validation, test = split(x, validation_fraction, seed, with_test=True)
    return DataBundle.from_arrays(path, train=train, validation=validation, test=test,
                                  levels=levels)
