"""`DataBundle`: what a data source yields, its unbatched splits and what they hold."""
import dataclasses

import numpy as np
import tensorflow as tf

__all__ = ["DataBundle"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataBundle:
    """Unbatched splits of float32 examples in raw units, and their description.

    `levels`: discrete values per entry (images), None for continuous vectors. `num_*`: split
    sizes when known without a pass over the data (None for TFDS splits). `test` is None when
    the source has no test split. `horizontal_flip`: whether training flips the images by
    default; for image files decided by `mirror_accuracy` (`tfnvp.data.mirror_symmetry`)."""

    name: str
    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: "tf.data.Dataset | None"
    event_shape: tuple
    levels: "int | None"
    horizontal_flip: bool = False
    mirror_accuracy: "float | None" = None  # image files: what decided `horizontal_flip`
    num_train: "int | None" = None
    num_validation: "int | None" = None
    num_test: "int | None" = None

    @classmethod
    def from_arrays(cls, name, *, train, validation, test, levels, horizontal_flip=False,
                    mirror_accuracy=None):
        """A bundle over NumPy arrays `[N, *event]` (`test` may be None)."""
        def dataset(array):
            return tf.data.Dataset.from_tensor_slices(array.astype(np.float32))

        return cls(name=name, train=dataset(train), validation=dataset(validation),
                   test=None if test is None else dataset(test),
                   event_shape=tuple(train.shape[1:]), levels=levels,
                   horizontal_flip=horizontal_flip, mirror_accuracy=mirror_accuracy,
                   num_train=len(train),
                   num_validation=len(validation), num_test=None if test is None else len(test))
