"""tfnvp.nets.injective_gather: the same values and gradients as tf.gather, without transposes."""
import re

import numpy as np
import pytest
import tensorflow as tf

import tfnvp
from tfnvp.nets.injective_gather import adjoint_index, injective_gather

# (index, inputs): a selection, a scatter with zeros, a permutation
MAPS = [(np.array([1, 3, 4], np.int32), 5), (np.array([0, 2, 0, 1, 3], np.int32), 3),
        (np.array([3, 1, 4, 2], np.int32), 4)]


def reference(x, index):
    """tf.gather on [0, x]: TensorFlow's own op and its own gradient."""
    padded = tf.concat([tf.zeros_like(x[..., :1]), x], axis=-1)
    return tf.gather(padded, index, axis=-1)


def run(jit, function, *args):
    return tf.function(function, jit_compile=True)(*args) if jit else function(*args)


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("index, inputs", MAPS)
def test_values_and_gradients_are_tf_gathers_bit_for_bit(index, inputs, jit):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(6, inputs)))
    upstream = tf.constant(rng.normal(size=(6, index.size)))
    adjoint = adjoint_index(index, inputs)

    def value_and_gradient(gather):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = gather(x)
            loss = tf.reduce_sum(y * upstream) + tf.reduce_sum(y ** 3)
        return y, tape.gradient(loss, x)

    ours = run(jit, lambda: value_and_gradient(lambda v: injective_gather(v, index, adjoint)))
    theirs = run(jit, lambda: value_and_gradient(lambda v: reference(v, index)))
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    expected = np.concatenate([np.zeros((6, 1)), x.numpy()], axis=1)[:, index]
    np.testing.assert_array_equal(ours[0].numpy(), expected)


@pytest.mark.parametrize("index, inputs", MAPS)
def test_second_derivatives_match_tf_gather(index, inputs):
    x = tf.constant(np.random.default_rng(1).normal(size=(4, inputs)))
    adjoint = adjoint_index(index, inputs)

    def hessian_diagonal(gather):
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                loss = tf.reduce_sum(tf.sin(gather(x)))
            gradient = inner.gradient(loss, x)
        return outer.gradient(gradient, x)

    np.testing.assert_array_equal(
        hessian_diagonal(lambda v: injective_gather(v, index, adjoint)).numpy(),
        hessian_diagonal(lambda v: reference(v, index)).numpy())


def test_adjoint_index_sends_each_input_to_the_output_that_reads_it():
    np.testing.assert_array_equal(adjoint_index([0, 2, 0, 1], 3), [4, 2, 0])
    np.testing.assert_array_equal(adjoint_index(adjoint_index([0, 2, 0, 1], 3), 4), [0, 2, 0, 1])


@pytest.mark.parametrize("index, inputs", [([1, 1], 3), ([2, 4], 3)])
def test_adjoint_index_refuses_maps_that_are_not_injective_or_out_of_range(index, inputs):
    with pytest.raises(ValueError,
                       match=rf"distinct inputs in \[0, {inputs}\).*{re.escape(str(index))}"):
        adjoint_index(index, inputs)


@pytest.mark.parametrize("permute", [False, True])
def test_the_vector_flows_training_gradient_holds_no_transpose(permute):
    """What the op exists for: TF's gradient of a last-axis gather transposes the whole batch."""
    model = tfnvp.RealNVP((6,), num_couplings=2, hidden_units=8, flow_batch_norm=False,
                          permute=permute)
    x = tf.random.normal((5, 6))
    model(x)

    @tf.function
    def gradient(x):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(model.log_prob(x))
        return tape.gradient(loss, model.trainable_variables)

    operations = gradient.get_concrete_function(x).graph.get_operations()
    assert any(op.type == "GatherV2" and "coupling" in op.name for op in operations)
    # the only transposes left are TFP's, in the prior's log-density of a [5, 6] batch
    transposes = [op.name for op in operations if op.type == "Transpose"]
    assert all("prior" in name for name in transposes), transposes
