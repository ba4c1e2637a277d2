"""`BatchNormalization`: Keras' batch norm, trained through one fused kernel on a single replica.

In training mode on one replica it must compute what `keras.layers.BatchNormalization` computes
(outputs, moving mean, moving variance with the biased batch variance, and the gradients with
respect to inputs, gamma and beta) and do it with `FusedBatchNormV3`; in inference mode, for
float64 and for non-image inputs it is Keras' layer. Each check runs with and without XLA.
(Across replicas it is Keras' synchronised layer: tests/test_distribute.py trains the image
model on two replicas against one device.)
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfnvp.nets import BatchNormalization

JIT = [False, True]


def _pair(policy, shape, momentum=0.9, seed=0):
    """A `BatchNormalization` and a Keras `BatchNormalization` with the same random weights."""
    ours = BatchNormalization(momentum=momentum, synchronized=True, dtype=policy)
    keras_bn = keras.layers.BatchNormalization(momentum=momentum, synchronized=True,
                                               dtype=policy)
    rng = np.random.default_rng(seed)
    ours.build(shape)
    keras_bn.build(shape)
    for a, b in zip(ours.weights, keras_bn.weights):
        value = rng.normal(0.0, 0.5, a.shape)
        value = np.abs(value) + 0.1 if "variance" in a.path else value
        a.assign(value)
        b.assign(value)
    return ours, keras_bn


def _train_call(layer, x, jit):
    """Training-mode outputs and the gradients of a fixed projection of them."""
    projection = tf.constant(np.random.default_rng(7).normal(size=x.shape), x.dtype)

    @tf.function(jit_compile=jit)
    def call(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            objective = tf.reduce_sum(tf.cast(y, x.dtype) * projection)
        return y, tape.gradient(objective, [x, layer.gamma, layer.beta])

    return call(x), call.get_concrete_function(x).graph


def _op_types(graph):
    """Op types in `graph` and in the functions it calls (XLA clusters, gradients)."""
    types = {op.type for op in graph.get_operations()}
    for function in graph._functions.values():
        types |= {node.op for node in function.definition.node_def}
    return types


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("policy, tolerance", [("float32", 1e-5), ("mixed_bfloat16", 2e-2)])
def test_training_step_is_keras_batch_norm_through_one_fused_kernel(policy, tolerance, jit):
    shape = (6, 4, 3, 5)
    x = tf.constant(np.random.default_rng(1).normal(1.0, 2.0, shape), tf.float32)
    ours, keras_bn = _pair(policy, shape)
    (y, grads), graph = _train_call(ours, x, jit)
    (want_y, want_grads), _ = _train_call(keras_bn, x, jit)
    assert y.dtype == want_y.dtype  # the compute dtype (bfloat16 under mixed precision)
    np.testing.assert_allclose(tf.cast(y, tf.float32), tf.cast(want_y, tf.float32),
                               rtol=tolerance, atol=tolerance)
    for got, want in zip(grads, want_grads):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * 10)
    # one training call each: one moving-average update
    for ours_stat, keras_stat in zip(ours.non_trainable_weights, keras_bn.non_trainable_weights):
        np.testing.assert_allclose(ours_stat.numpy(), keras_stat.numpy(), rtol=1e-5, atol=1e-6)
    assert "FusedBatchNormV3" in _op_types(graph)


def test_moving_variance_follows_the_biased_batch_variance():
    """momentum 0 leaves exactly the batch's statistics: the variance divides by B*H*W."""
    shape = (4, 3, 2, 2)
    x = np.random.default_rng(2).normal(0.0, 3.0, shape)
    layer, _ = _pair("float32", shape, momentum=0.0)
    layer(tf.constant(x, tf.float32), training=True)
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), x.var(axis=(0, 1, 2)), rtol=1e-5)


@pytest.mark.parametrize("policy, shape, training", [
    ("float64", (6, 4, 3, 5), True),   # FusedBatchNormV3 has no float64 kernel
    ("float32", (6, 5), True),         # not an image
    ("float32", (6, 4, 3, 5), False),  # inference: the moving statistics, Keras' two ops
])
def test_other_calls_are_keras_batch_norm_unchanged(policy, shape, training):
    dtype = "float64" if policy == "float64" else "float32"
    x = tf.constant(np.random.default_rng(3).normal(size=shape), dtype)
    ours, keras_bn = _pair(policy, shape)
    np.testing.assert_array_equal(ours(x, training=training), keras_bn(x, training=training))
    for ours_stat, keras_stat in zip(ours.non_trainable_weights, keras_bn.non_trainable_weights):
        np.testing.assert_array_equal(ours_stat.numpy(), keras_stat.numpy())


class _Holder(keras.Model):
    """A model holding one batch norm as an attribute, as the ResNet blocks hold theirs."""

    def __init__(self, norm):
        super().__init__()
        self.norm = norm

    def call(self, x):
        return self.norm(x)


def test_a_keras_batch_norm_checkpoint_loads_into_it(tmp_path):
    """The same weights under the same attribute: a file saved with Keras' layer, as tfnvp's
    were before, loads into ours."""
    shape = (2, 4, 4, 3)
    _, keras_bn = _pair("float32", shape, seed=5)
    path = str(tmp_path / "bn.weights.h5")
    saved = _Holder(keras_bn)
    saved(tf.zeros(shape))
    saved.save_weights(path)
    fresh = BatchNormalization(momentum=0.9, synchronized=True)
    loaded = _Holder(fresh)
    loaded(tf.zeros(shape))
    loaded.load_weights(path)
    for a, b in zip(fresh.weights, keras_bn.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
