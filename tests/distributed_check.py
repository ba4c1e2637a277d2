"""Run by `test_distribute.py` in a fresh process: training on 2 logical CPU devices
(MirroredStrategy, through `fit` and through `CustomTrainer`) against `fit` on one device, same
initial weights, same global batches, for an image and a vector model; then once more with the
global-batch statistics swapped for per-replica ones (what the test must catch). Prints one JSON
line: case -> the largest differences. Logical devices must be configured before TensorFlow
initialises, hence a process of its own.

    python tests/distributed_check.py
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from helpers import randomized, tiny_image_model, tiny_vector_model  # noqa: E402
from tfnvp.bijectors import batch_norm  # noqa: E402

STEPS, GLOBAL_BATCH = 3, 16


def per_replica_statistics():
    """What a naive implementation does: each replica normalises with its own half-batch."""
    batch_norm.global_moments = lambda x, axes: tf.nn.moments(x, axes=axes)
    original = keras.layers.BatchNormalization.__init__

    def unsynchronised(self, *args, synchronized=False, **kwargs):
        original(self, *args, synchronized=False, **kwargs)

    keras.layers.BatchNormalization.__init__ = unsynchronised


def compare(strategy, kind, loop):
    # The vector case in float64: its float32 weights came out 6e-4 apart (relative) on a CI
    # host from the all-reduce's summation order alone, too close to what per-replica statistics
    # give; in float64 the order costs ~1e-15 and only a real difference shows.
    if kind == "image":
        make, dtype = tiny_image_model, np.float32
    else:
        make, dtype = (lambda: tiny_vector_model(dtype="float64")), np.float64
    rng = np.random.default_rng(0)
    shape = (STEPS * GLOBAL_BATCH, *((4, 4, 1) if kind == "image" else (2,)))
    x = (rng.uniform(0, 4, shape) if kind == "image" else rng.normal(size=shape))
    data = tf.data.Dataset.from_tensor_slices(x.astype(dtype)).batch(GLOBAL_BATCH)

    one = randomized(make(), scale=0.2)
    with strategy.scope():
        two = make()
        two.set_weights(one.get_weights())
        two.compile(optimizer=keras.optimizers.SGD(0.05))
    one.compile(optimizer=keras.optimizers.SGD(0.05))
    losses_one = one.fit(data, epochs=2, verbose=0, shuffle=False).history["loss"]
    if loop:
        from tfnvp_training.loop import CustomTrainer
        losses_two = CustomTrainer(two, strategy).fit(data, epochs=2).history["loss"]
    else:
        losses_two = two.fit(data, epochs=2, verbose=0, shuffle=False).history["loss"]
    weights = {w.path: (a.numpy(), b.numpy()) for w, a, b in zip(one.weights, one.weights,
                                                                  two.weights)}
    statistics = [w.path for w in one.non_trainable_weights]

    def largest(paths):
        return max(float(np.max(np.abs(a - b)) / (1e-6 + np.max(np.abs(a))))
                   for a, b in (weights[p] for p in paths))

    return {
        "replicas": strategy.num_replicas_in_sync, "losses_one": losses_one,
        "losses_two": losses_two,
        "loss_difference": float(np.max(np.abs(np.subtract(losses_one, losses_two))
                                        / np.abs(losses_one))),
        "weights_difference": largest(list(weights)),
        "statistics_difference": largest(statistics),
        "statistics_moved": float(max(np.max(np.abs(b)) for _, b in
                                      (weights[p] for p in statistics)))}


def main():
    # One strategy for every case: separate MirroredStrategy objects in one process can reuse
    # collective instance keys and abort each other's all-reduces.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    report = {f"{kind}-{how}": compare(strategy, kind, loop=how == "loop")
              for kind in ("image", "vector") for how in ("fit", "loop")}
    per_replica_statistics()
    report["vector-fit-per-replica"] = compare(strategy, "vector", loop=False)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
