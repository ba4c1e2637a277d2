"""`RealNVP.train_step` outside `tf.distribute`: the optimizer's update and the finite check run
as one XLA-compiled call, and compute what the plain (uncompiled) update computes.

The plain path is the one every `tf.distribute` replica takes (tests/test_distribute.py).
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import dequantised_pixels, randomized, tiny_image_model


def _trained(x, compiled, steps=3, jit=False):
    tf.random.set_seed(0)
    model = randomized(tiny_image_model(dtype="float64"), seed=3)
    model(x[:2])
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    if not compiled:  # the per-replica path, forced
        model._compiled_apply_gradients = model._apply_gradients
    step = tf.function(model.train_step, jit_compile=jit)
    for _ in range(steps):
        step(x)
    return model, step.get_concrete_function(x).graph


def _compiled_calls(graph):
    """The calls in `graph` to functions marked for XLA compilation."""
    functions = graph._functions
    return [op for op in graph.get_operations()
            if op.type in ("PartitionedCall", "StatefulPartitionedCall")
            and functions[op.get_attr("f").name].definition.attr["_XlaMustCompile"].b]


@pytest.mark.parametrize("jit", [False, True])
def test_compiled_update_computes_the_plain_update(jit):
    x = tf.constant(dequantised_pixels(np.random.default_rng(0), 8), tf.float64)
    compiled, graph = _trained(x, compiled=True, jit=jit)
    plain, plain_graph = _trained(x, compiled=False, jit=jit)
    moved = 0.0
    for a, b in zip(compiled.weights, plain.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12, err_msg=a.path)
    for a, b in zip(compiled.optimizer.variables, plain.optimizer.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12, err_msg=a.path)
        moved = max(moved, float(np.max(np.abs(a.numpy()))))
    assert compiled.optimizer.iterations.numpy() == 3 and moved > 0
    if not jit:  # one compiled call holds the update; the plain step has none
        assert len(_compiled_calls(graph)) == 1 and not _compiled_calls(plain_graph)
        assert "IsFinite" not in {op.type for op in graph.get_operations()}


def test_compiled_update_still_reports_a_non_finite_weight():
    x = tf.constant(dequantised_pixels(np.random.default_rng(1), 8), tf.float64)
    model, _ = _trained(x, compiled=True, steps=1)
    assert model.steps_were_finite()
    weight = model.trainable_variables[0]
    weight.assign(tf.fill(weight.shape, tf.constant(np.nan, weight.dtype)))
    tf.function(model.train_step)(x)
    assert not model.steps_were_finite()
