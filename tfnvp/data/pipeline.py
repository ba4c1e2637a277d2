"""`batches`: the training and evaluation streams of a split (shuffle, batch, dequantise, flip).

Randomness is stateless and keyed: a batch's noise and flips are a function of
(seed, epoch, batch) only, so a resumed run sees exactly the batches it would have seen.
"""
import numpy as np
import tensorflow as tf

__all__ = ["batches"]


def batches(dataset, batch_size, *, levels, training, horizontal_flip=False, seed=None,
            drop_remainder=None, epochs=None, skip=0):
    """shuffle (training) -> batch -> x + U[0, 1) if levels -> flips -> prefetch: float32 [B, ...].

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
