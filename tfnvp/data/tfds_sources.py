"""TensorFlow Datasets image sets by name: one table of what each needs, one loader.

TFDS downloads and prepares a data set on first use (into `data_dir`, default
`~/tensorflow_datasets` or `TFDS_DATA_DIR`). Images become float32 `[size, size, C]` with integer
values in `[0, 256)`; CelebA gets the paper's centre crop (148x148) before the resize, LSUN a
resize of the short side and a centre crop.
"""
import dataclasses

import tensorflow as tf

__all__ = ["TFDS_SOURCES", "TfdsSource", "load_tfds", "tfds_source"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TfdsSource:
    """How one TFDS image set becomes tfnvp splits."""

    image_size: int             # side of the square images tfnvp trains on
    channels: int
    has_validation: bool        # a 'validation' split; otherwise one is cut from 'train'
    has_test: bool              # a 'test' split
    horizontal_flip: bool       # the paper flips CIFAR-10, CelebA and LSUN
    crop: str = "resize"        # "resize", "center_148" (CelebA) or "short_side" (LSUN)


TFDS_SOURCES = {
    "mnist": TfdsSource(image_size=28, channels=1, has_validation=False, has_test=True,
                        horizontal_flip=False),
    "cifar10": TfdsSource(image_size=32, channels=3, has_validation=False, has_test=True,
                          horizontal_flip=True),
    "celeb_a": TfdsSource(image_size=64, channels=3, has_validation=True, has_test=True,
                          horizontal_flip=True, crop="center_148"),
    "downsampled_imagenet/32x32": TfdsSource(image_size=32, channels=3, has_validation=True,
                                             has_test=False, horizontal_flip=False),
    "downsampled_imagenet/64x64": TfdsSource(image_size=64, channels=3, has_validation=True,
                                             has_test=False, horizontal_flip=False),
    # every LSUN category (lsun/bedroom, lsun/tower, ...) shares this entry
    "lsun/<category>": TfdsSource(image_size=64, channels=3, has_validation=True,
                                  has_test=False, horizontal_flip=True, crop="short_side"),
}


def tfds_source(name):
    """The table entry for `name` (an `lsun/...` name takes the LSUN entry), or None."""
    if name in TFDS_SOURCES:
        return TFDS_SOURCES[name]
    for pattern, source in TFDS_SOURCES.items():
        prefix = pattern.split("<", 1)[0]
        if "<" in pattern and name.startswith(prefix) and len(name) > len(prefix):
            return source
    return None


def load_tfds(name, source, *, levels, validation_fraction, data_dir, image_size):
    """A `DataBundle` of the TFDS set `name` described by `source` (a `TfdsSource`)."""
    import tensorflow_datasets as tfds

    from tfnvp.data.bundle import DataBundle

    size = image_size or source.image_size
    percent = int(round(100 * (1 - validation_fraction)))
    train_split, validation_split = (("train", "validation") if source.has_validation
                                     else (f"train[:{percent}%]", f"train[{percent}%:]"))

    def prepare(example):
        x = tf.cast(example["image"], tf.float32)
        if source.crop == "center_148":
            x = tf.image.resize_with_crop_or_pad(x, 148, 148)
            x = tf.image.resize(x, (size, size), antialias=True)
        elif source.crop == "short_side":
            sides = tf.cast(tf.shape(x)[:2], tf.float32)
            scale = size / tf.reduce_min(sides)
            x = tf.image.resize(x, tf.cast(tf.math.ceil(sides * scale), tf.int32),
                                antialias=True)
            x = tf.image.resize_with_crop_or_pad(x, size, size)
        elif x.shape[0] != size or x.shape[1] != size:
            x = tf.image.resize(x, (size, size))
        return tf.clip_by_value(tf.round(x), 0, 255)

    def split(name_of_split):
        return tfds.load(name, split=name_of_split, data_dir=data_dir).map(prepare)

    return DataBundle(name=name, train=split(train_split), validation=split(validation_split),
                      test=split("test") if source.has_test else None,
                      event_shape=(size, size, source.channels), levels=levels or 256,
                      horizontal_flip=source.horizontal_flip)
