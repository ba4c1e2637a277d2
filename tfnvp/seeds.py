"""Seeds for TensorFlow's stateless random ops: the same seed gives the same draws.

    seed None  -> a fresh seed from TensorFlow's global generator (differs call to call)
    seed int   -> [seed, 0]
    seed [2]   -> as given
"""
import tensorflow as tf

__all__ = ["split_seed", "stateless_seed"]


def stateless_seed(seed=None):
    """`seed` (None, an int or a pair) -> an int64 `[2]` tensor for `tf.random.stateless_*`."""
    if seed is None:
        return tf.random.uniform([2], maxval=tf.int64.max, dtype=tf.int64)
    seed = tf.convert_to_tensor(seed)
    if not seed.dtype.is_integer or seed.shape.rank not in (0, 1) or (
            seed.shape.rank == 1 and seed.shape[0] != 2):
        raise ValueError(f"`seed` must be an integer or a pair of integers, got {seed!r}.")
    if seed.shape.rank == 0:
        return tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    return tf.cast(seed, tf.int64)


def split_seed(seed, num):
    """`num` independent stateless seeds `[num, 2]` derived from one."""
    return tf.random.experimental.stateless_split(stateless_seed(seed), num)
