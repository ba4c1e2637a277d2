"""Data layer: named and user-file sources -> unbatched tf.data splits (DataBundle), and `batches`.

Examples are float32 in raw units: images [H, W, C] with integer values in [0, levels) (not yet
dequantised), vectors [D]. `batches` shuffles, batches, dequantises (x + U[0, 1)) and flips.
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf

TOY_DATASETS = ("moons", "circles", "checkerboard", "8gaussians", "spirals")
TFDS_DATASETS = ("mnist", "cifar10", "celeb_a", "downsampled_imagenet/32x32",
                 "downsampled_imagenet/64x64", "lsun/<category>")
KNOWN_DATASETS = ("digits",) + TOY_DATASETS + TFDS_DATASETS
TOY_SIZES = (10_000, 2_000, 2_000)  # train, validation, test


@dataclasses.dataclass(frozen=True)
class DataBundle:
    name: str
    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: "tf.data.Dataset | None"
    event_shape: tuple
    levels: "int | None"
    horizontal_flip: bool
    num_train: "int | None"
    num_validation: "int | None"
    num_test: "int | None"


def _from_arrays(name, train, validation, test, levels, flip=False):
    ds = lambda a: tf.data.Dataset.from_tensor_slices(a.astype(np.float32))
    return DataBundle(name, ds(train), ds(validation), None if test is None else ds(test),
                      tuple(train.shape[1:]), levels, flip, len(train), len(validation),
                      None if test is None else len(test))


def _split(x, validation_fraction, seed, with_test):
    """Random split of x [N, ...] -> (train, validation, test or None); test takes 10% when asked."""
    perm = np.random.default_rng(seed).permutation(len(x))
    x = x[perm]
    num_test = int(round(0.1 * len(x))) if with_test else 0
    test, rest = (x[:num_test], x[num_test:]) if with_test else (None, x)
    num_val = max(1, int(round(validation_fraction * len(rest))))
    if num_val >= len(rest):
        raise ValueError(f"dataset with {len(x)} examples is too small to split off validation")
    return rest[num_val:], rest[:num_val], test


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


def _check_vectors(x, source):
    if x.ndim != 2:
        raise ValueError(f"{source}: expected vectors of rank 2 [N, D] or integer images, got shape {x.shape}")
    _check_finite(x, source)
    return x


def _check_finite(x, source):
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{source}: data contains NaN or Inf ({int(bad.sum())} entries, first "
                         f"{x[first]} at index {first}); expected finite numbers")


def _check_images(x, levels, source):
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{source}: expected images [N, H, W] or [N, H, W, C], got shape {x.shape}")
    _check_finite(x, source)
    if np.any(x != np.round(x)) and x.min() >= 0 and x.max() <= 1:
        raise ValueError(f"{source}: image values are floats in [0, 1] (max {x.max():.4g}); "
                         f"expected integers 0..{levels - 1}: rescale by 255 (np.round(x * 255)) "
                         f"or give integers with the right --levels")
    if np.any(x != np.round(x)):
        raise ValueError(f"{source}: image values must be integers, got non-integer values")
    lo, hi = x.min(), x.max()
    if lo < 0 or hi >= levels:
        hint = (" (looks like floats in [0, 1]: rescale to 0..levels-1 or set --levels)"
                if hi <= 1.0 else " (set --levels or rescale)")
        raise ValueError(f"{source}: pixel values in [{lo}, {hi}] outside [0, {levels}){hint}")
    return x


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
    raise ValueError(f"{path}: unsupported file type {ext!r}; expected .npy, .npz, .csv or a directory of images")


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
        raise ValueError(f"{path}: images have different sizes {sorted(shapes)}; pass image_size to resize")
    return np.stack(images)


def _load_file(path, levels, validation_fraction, seed, image_size):
    if not os.path.exists(path):
        raise ValueError(f"data path {path!r} does not exist")
    if os.path.isdir(path):
        x, is_image, levels = _load_image_dir(path, image_size), True, levels or 256
    else:
        x = np.asarray(_load_array(path))
        is_image = x.ndim in (3, 4)
        if is_image:
            levels = levels or 256
    if x.size == 0 or len(x) == 0:
        raise ValueError(f"{path}: empty dataset (shape {x.shape})")
    x = _check_images(x.astype(np.float64), levels, path) if is_image else _check_vectors(x.astype(np.float64), path)
    train, val, test = _split(x, validation_fraction, seed, with_test=True)
    return _from_arrays(path, train, val, test, levels if is_image else None)


def _load_tfds(name, levels, validation_fraction, data_dir, image_size):
    import tensorflow_datasets as tfds
    # Splits each source has (fixed by the catalogue; builder.info is empty under mock_data).
    has_val = name == "celeb_a" or name.startswith(("downsampled_imagenet", "lsun/"))
    has_test = name in ("mnist", "cifar10", "celeb_a")
    size = {"mnist": 28, "cifar10": 32, "downsampled_imagenet/32x32": 32}.get(name, 64)
    size = image_size or size
    pct = int(round(100 * (1 - validation_fraction)))
    train_split, val_split = ("train", "validation") if has_val else (f"train[:{pct}%]", f"train[{pct}%:]")
    test_split = "test" if has_test else None

    def prep(ex):
        x = tf.cast(ex["image"], tf.float32)
        if name == "celeb_a":
            x = tf.image.resize_with_crop_or_pad(x, 148, 148)
            x = tf.image.resize(x, (size, size), antialias=True)
        elif name.startswith("lsun/"):
            hw = tf.cast(tf.shape(x)[:2], tf.float32)
            scale = size / tf.reduce_min(hw)
            x = tf.image.resize(x, tf.cast(tf.math.ceil(hw * scale), tf.int32), antialias=True)
            x = tf.image.resize_with_crop_or_pad(x, size, size)
        elif x.shape[0] != size or x.shape[1] != size:
            x = tf.image.resize(x, (size, size))
        return tf.clip_by_value(tf.round(x), 0, 255)

    def ds(split):
        return tfds.load(name, split=split, data_dir=data_dir).map(prep)

    channels = 1 if name == "mnist" else 3
    return DataBundle(name, ds(train_split), ds(val_split), ds(test_split) if test_split else None,
                      (size, size, channels), levels or 256,
                      name in ("cifar10", "celeb_a") or name.startswith("lsun/"), None, None, None)


def load(source, *, levels=None, validation_fraction=0.1, seed=0, data_dir=None, image_size=None):
    """Load `source` (a name in KNOWN_DATASETS or a path) into a DataBundle of unbatched splits."""
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    if source == "digits":
        from sklearn.datasets import load_digits
        x = load_digits().images.reshape(-1, 8, 8, 1)
        perm = np.random.default_rng(seed).permutation(len(x))
        test, rest = x[perm[:360]], x[perm[360:]]
        num_val = int(round(validation_fraction * len(rest)))
        return _from_arrays("digits", rest[num_val:], rest[:num_val], test, levels or 17)
    if source in TOY_DATASETS:
        rng = np.random.default_rng(seed)
        parts = [_toy(source, n, rng) for n in TOY_SIZES]
        return _from_arrays(source, *parts, None)
    if source in TFDS_DATASETS[:-1] or source.startswith("lsun/"):
        return _load_tfds(source, levels, validation_fraction, data_dir, image_size)
    if os.sep in source or os.path.splitext(source)[1] or os.path.exists(source):
        return _load_file(source, levels, validation_fraction, seed, image_size)
    raise ValueError(f"unknown dataset {source!r}; expected one of {', '.join(KNOWN_DATASETS)} or a file path")


def batches(dataset, batch_size, *, levels, training, horizontal_flip=False, seed=None,
            drop_remainder=None, epochs=None, skip=0):
    """shuffle (training) -> batch -> x + U[0, 1) if levels -> random flips -> prefetch: float32 [B, ...].

    `drop_remainder` (default: `training`): training batches all have the same shape (a partial
    last batch would retrace the step function); evaluation batches cover every example.
    `epochs=(first, last)` (training): one stream of epochs first..last-1, where epoch e's order
    is a function of (seed, e) and batch b's noise and flips of (seed, e, b) only, minus its first
    `skip` batches -- so a run resumed mid-epoch sees exactly the batches it would have seen.
    Without `epochs`, a training pass reshuffles and redraws noise on each iteration; an
    evaluation pass with a seed draws the same noise on every iteration (comparable val_loss).
    """
    drop_remainder = training if drop_remainder is None else drop_remainder
    seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)

    def augment(x, key):
        x = tf.cast(x, tf.float32)
        noise_key, flip_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        if levels is not None:
            x = x + tf.random.stateless_uniform(tf.shape(x), noise_key, dtype=tf.float32)
        if training and horizontal_flip:
            flip = tf.random.stateless_uniform(tf.shape(x)[:1], flip_key) < 0.5
            x = tf.where(flip[:, None, None, None], tf.reverse(x, axis=[2]), x)
        return x

    def batch_key(epoch, batch):  # stateless seed [2] of batch `batch` of epoch `epoch`
        key = tf.random.experimental.stateless_fold_in(tf.constant([seed, 0], tf.int64), epoch)
        return tf.random.experimental.stateless_fold_in(key, batch)

    def one_epoch(epoch):
        ds = dataset
        if training:  # the order depends on (seed, epoch) only, not on how often we iterated
            # A tensor op seed under global seed 0 (tf.random.set_seed(0)) trips a Python `==`
            # on the tensor in TF's seed logic: the seed is ours, so drop the graph's here.
            graph = tf.compat.v1.get_default_graph()
            global_seed, graph.seed = graph.seed, None
            ds = ds.shuffle(10_000, seed=tf.constant(seed, tf.int64) * 1_000_003 + epoch,
                            reshuffle_each_iteration=False)
            graph.seed = global_seed
        ds = ds.batch(batch_size, drop_remainder=drop_remainder).enumerate()
        return ds.map(lambda b, x: augment(x, batch_key(epoch, b)))

    if epochs is not None:
        first, last = (int(e) for e in epochs)
        stream = tf.data.Dataset.range(first, last).flat_map(one_epoch).skip(int(skip))
        return stream.prefetch(tf.data.AUTOTUNE)
    if not training:
        return one_epoch(tf.constant(0, tf.int64)).prefetch(tf.data.AUTOTUNE)
    gen = tf.random.Generator.from_seed(seed)
    dataset = dataset.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.map(lambda x: augment(x, gen.make_seeds(1)[:, 0])).prefetch(tf.data.AUTOTUNE)
