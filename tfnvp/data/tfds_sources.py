"""TensorFlow Datasets image sets by name: one table of tfnvp's choices, one loader for any set.

The table holds what tfnvp does to the paper's sets: the side it trains on, the crop (CelebA:
the paper's 148x148 centre crop before the resize; LSUN: resize of the short side, centre crop)
and flips where the paper flips. Any other TFDS set with an `image` feature loads too, as
stored: square-resized only to `image_size`, never flipped. The data's own facts come from its
TFDS builder: channels and levels from the `image` feature (uint8: 256), splits from its info
(a validation split is cut from 'train' when there is none). Images become float32 `[H, W, C]`
with integer values in `[0, levels)`.

Sets are read from `data_dir`, else `TFDS_DATA_DIR`, else TFDS's default `~/tensorflow_datasets`;
one not prepared there is downloaded only when the network is there (`tfds_preparation`).
"""
import dataclasses

import numpy as np
import tensorflow as tf

from tfnvp.data.bundle import DataBundle
from tfnvp.data.tfds_preparation import ensure_prepared

__all__ = ["TFDS_SOURCES", "TfdsSource", "load_tfds", "tfds_source"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TfdsSource:
    """What tfnvp does to one TFDS image set."""

    image_size: "int | None" = None  # side of the square images tfnvp trains on (None: as stored)
    horizontal_flip: bool = False    # the paper flips CIFAR-10, CelebA and LSUN
    crop: str = "resize"             # "resize", "center_148" (CelebA) or "short_side" (LSUN)


TFDS_SOURCES = {
    "mnist": TfdsSource(image_size=28),
    "cifar10": TfdsSource(image_size=32, horizontal_flip=True),
    "celeb_a": TfdsSource(image_size=64, horizontal_flip=True, crop="center_148"),
    "downsampled_imagenet/32x32": TfdsSource(image_size=32),
    "downsampled_imagenet/64x64": TfdsSource(image_size=64),
    # every LSUN category (lsun/bedroom, lsun/tower, ...) shares this entry
    "lsun/<category>": TfdsSource(image_size=64, horizontal_flip=True, crop="short_side"),
}


def tfds_source(name):
    """The table entry for `name` (an `lsun/...` name takes the LSUN entry; a `:version` suffix
    is ignored), or None."""
    name = name.split(":", 1)[0]
    if name in TFDS_SOURCES:
        return TFDS_SOURCES[name]
    for pattern, source in TFDS_SOURCES.items():
        prefix = pattern.split("<", 1)[0]
        if "<" in pattern and name.startswith(prefix) and len(name) > len(prefix):
            return source
    return None


def load_tfds(name, *, levels, validation_fraction, data_dir, image_size):
    """A `DataBundle` of the TFDS image set `name`, or None when TFDS knows no set by that name.

    `levels` (default: the image feature's) and `image_size` (default: the table's) are checked
    by the caller."""
    builder = _builder(name, data_dir)
    if builder is None:
        return None
    source = tfds_source(name) or TfdsSource()
    feature = _image_feature(builder, name)
    stored_levels = int(np.iinfo(feature.np_dtype).max) + 1
    size = image_size or source.image_size
    height, width, channels = feature.shape
    if size is None and None in (height, width):
        raise ValueError(f"TFDS data set {name!r} holds images of varying size "
                         f"{_shape(feature.shape)}; pass `image_size` to resize them to squares")
    event_shape = (size, size, channels) if size else (height, width, channels)

    ensure_prepared(builder, name)
    splits = set(builder.info.splits)  # known once prepared (empty under tfds.testing.mock_data)
    if splits and "train" not in splits:
        raise ValueError(f"TFDS data set {name!r} has the splits {', '.join(sorted(splits))}; "
                         f"expected a 'train' split")
    percent = int(round(100 * (1 - validation_fraction)))
    train_split, validation_split = (("train", "validation") if "validation" in splits
                                     else (f"train[:{percent}%]", f"train[{percent}%:]"))

    def prepare(example):
        x = tf.cast(example["image"], tf.float32)
        if size is not None:
            x = _square(x, size, source.crop)
        return tf.ensure_shape(tf.clip_by_value(tf.round(x), 0, stored_levels - 1), event_shape)

    def split(name_of_split):
        return builder.as_dataset(split=name_of_split, shuffle_files=False).map(prepare)

    return DataBundle(name=name, train=split(train_split), validation=split(validation_split),
                      test=split("test") if "test" in splits else None,
                      event_shape=event_shape, levels=stored_levels if levels is None else levels,
                      horizontal_flip=source.horizontal_flip)


def _builder(name, data_dir):
    """The TFDS builder of `name` reading from `data_dir` (None: TFDS's default), or None."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core import constants

    try:
        tfds.core.naming.parse_builder_name_kwargs(name)
    except ValueError:  # not a TFDS name at all
        return None
    try:  # TFDS's default data dir reads TFDS_DATA_DIR now, not when TFDS was imported
        return tfds.builder(name, data_dir=data_dir or constants.get_default_data_dir())
    except tfds.core.DatasetNotFoundError:
        return None
    except AssertionError as error:  # e.g. a version TFDS does not have
        raise ValueError(f"TFDS cannot open {name!r}: {str(error).splitlines()[0]}") from None


def _image_feature(builder, name):
    """The `image` feature of `builder`: integer pixels `[H, W, C]` with a known `C`."""
    import tensorflow_datasets as tfds

    features = builder.info.features
    feature = None
    if isinstance(features, tfds.features.FeaturesDict) and "image" in features.keys():
        feature = features["image"]
    if not isinstance(feature, tfds.features.Image):
        kinds = (", ".join(f"{k} ({type(v).__name__})" for k, v in features.items())
                 if isinstance(features, tfds.features.FeaturesDict) else type(features).__name__)
        raise ValueError(f"TFDS data set {name!r} has no `image` feature (it has: {kinds}); "
                         f"expected an image data set")
    if not np.issubdtype(feature.np_dtype, np.integer) or feature.shape[-1] is None:
        dtype = np.dtype(feature.np_dtype).name
        raise ValueError(f"TFDS data set {name!r}: its images are {dtype} "
                         f"{_shape(feature.shape)}; expected integer pixels with a known number "
                         f"of channels")
    return feature


def _square(x, size, crop):
    """An image `[H, W, C]` -> `[size, size, C]` by the table's `crop` rule."""
    if crop == "center_148":
        x = tf.image.resize_with_crop_or_pad(x, 148, 148)
        return tf.image.resize(x, (size, size), antialias=True)
    if crop == "short_side":
        sides = tf.cast(tf.shape(x)[:2], tf.float32)
        scale = size / tf.reduce_min(sides)
        x = tf.image.resize(x, tf.cast(tf.math.ceil(sides * scale), tf.int32), antialias=True)
        return tf.image.resize_with_crop_or_pad(x, size, size)
    if x.shape[0] != size or x.shape[1] != size:
        return tf.image.resize(x, (size, size))
    return x


def _shape(shape):
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
