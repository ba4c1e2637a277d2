"""The Keras layers of `tfnvp.nets`, in the spirit of Keras's `run_layer_test`, and their maths.

Per layer and dtype policy (float32, float64, mixed_bfloat16): build and call (output shapes and
dtypes), trainable and non-trainable weight counts, `get_config`/`from_config` and
`serialize_keras_object`/`deserialize_keras_object` round trips (same config, same outputs once
the weights are copied). Then what each layer computes:

    WeightNormConv2D    w[..., o] = g[o] v[..., o] / ||v[..., o]||,  y = conv2d(x, w) + bias
    ScaleAndShift       s = scale * tanh(raw_s),  t = raw_t        (so |s| <= |scale|)
    the L2 penalty      l2 * (sum g^2 + sum scale^2), over exactly those weights, in the loss once
"""
from typing import NamedTuple

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import randomized, tiny_image_model, tiny_vector_model
from tfnvp.nets import (
    FlowBatchNormStatistics,
    MLPConditioner,
    ResidualBlock,
    ResNetConditioner,
    ScaleAndShift,
    WeightNormConv2D,
)

POLICIES = ["float32", "float64", "mixed_bfloat16"]
FLOW_DTYPE = {"float32": "float32", "float64": "float64", "mixed_bfloat16": "float32"}
COMPUTE_DTYPE = {"float32": "float32", "float64": "float64", "mixed_bfloat16": "bfloat16"}


class Case(NamedTuple):
    layer: type
    kwargs: dict  # values other than the defaults, so a key `get_config` drops shows
    input_shape: tuple
    output_shapes: list
    in_compute_dtype: bool  # outputs in the compute dtype, else the flow's (float32 if mixed)
    trainable: int
    non_trainable: int
    penalties: int  # L2 terms in `layer.losses`


CASES = {
    # v, g, bias; g penalised
    "weight_norm_conv": Case(WeightNormConv2D, dict(filters=5, kernel_size=1, zero_init=True,
                                                    l2=1e-3),
                             (2, 4, 3, 3), [(2, 4, 3, 5)], True, 3, 0, 1),
    "scale_and_shift": Case(ScaleAndShift, dict(l2=1e-3), (2, 3, 6), [(2, 3, 3), (2, 3, 3)],
                            False, 1, 0, 1),
    # moving mean and variance; the flow never calls it (its call is the identity)
    "flow_batch_norm_statistics": Case(FlowBatchNormStatistics,
                                       dict(features=3, momentum=0.9, epsilon=1e-3),
                                       (2, 3), [(2, 3)], True, 0, 2, 0),
    # 2 x (batch norm: gamma, beta | moving mean, variance) + 2 x weight-norm conv
    "residual_block": Case(ResidualBlock, dict(filters=4, l2=1e-3, momentum=0.9), (2, 4, 4, 4),
                           [(2, 4, 4, 4)], True, 10, 4, 2),
    # input conv 3 + block 10 + output batch norm 2 + output conv 3 + head 1; 4 convs + head
    "resnet_conditioner": Case(ResNetConditioner, dict(channels=2, filters=4, num_blocks=1,
                                                       l2=1e-3, momentum=0.9),
                               (2, 4, 4, 4), [(2, 4, 4, 2), (2, 4, 4, 2)], False, 19, 6, 5),
    # 3 dense layers (kernel, bias) + head; only the head's scale is penalised
    "mlp_conditioner": Case(MLPConditioner, dict(features=3, hidden_units=8, hidden_layers=2,
                                                 l2=1e-3),
                            (5, 6), [(5, 3), (5, 3)], False, 7, 0, 1),
    # the vector flow's compact net: sees the 2 kept entries, outputs the 2 transformed ones
    "mlp_conditioner_compact": Case(MLPConditioner, dict(features=4, hidden_units=8,
                                                         hidden_layers=1, l2=1e-3,
                                                         mask=[1.0, 0.0, 1.0, 0.0]),
                                    (5, 8), [(5, 4), (5, 4)], False, 5, 0, 1),
}


def _randomize(layer, seed=0):
    """Every weight N(0, 0.5^2) (variances positive): zero-initialised layers output something."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        value = rng.normal(0.0, 0.5, weight.shape)
        weight.assign(np.abs(value) + 0.1 if "variance" in weight.path else value)


def _outputs(layer, x):
    return [np.asarray(out, np.float64) for out in tf.nest.flatten(layer(x, training=False))]


# Keras warns when it builds a layer that has no build(): the test after this one.
NO_BUILD_WARNING = pytest.mark.filterwarnings("ignore:`build\\(\\)` was called on layer")


@NO_BUILD_WARNING
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_build_call_config_and_serialization(name, policy):
    case = CASES[name]
    layer = case.layer(**case.kwargs, dtype=policy)
    x = tf.constant(np.random.default_rng(1).normal(size=case.input_shape), tf.float32)
    outputs = tf.nest.flatten(layer(x, training=False))
    expected_dtype = (COMPUTE_DTYPE if case.in_compute_dtype else FLOW_DTYPE)[policy]
    assert [tuple(out.shape) for out in outputs] == case.output_shapes
    assert [out.dtype.name for out in outputs] == [expected_dtype] * len(outputs)
    assert all(w.dtype == FLOW_DTYPE[policy] for w in layer.weights)
    assert len(layer.trainable_weights) == case.trainable
    assert len(layer.non_trainable_weights) == case.non_trainable
    assert len(layer.losses) == case.penalties

    _randomize(layer)
    expected = _outputs(layer, x)
    config = layer.get_config()
    assert {key: config[key] for key in case.kwargs} == case.kwargs
    assert config["dtype"]["config"]["name"] == policy
    serialized = keras.saving.serialize_keras_object(layer)
    for copy in (case.layer.from_config(config),
                 keras.saving.deserialize_keras_object(serialized)):
        assert type(copy) is case.layer and copy.get_config() == config
        copy(x, training=False)  # build
        copy.set_weights(layer.get_weights())
        for got, want in zip(_outputs(copy, x), expected):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(CASES))
@NO_BUILD_WARNING
def test_layer_build_creates_every_weight(name):
    case = CASES[name]
    layer = case.layer(**case.kwargs)
    layer.build(case.input_shape)  # as Keras does for a deserialized layer, before any call
    assert len(layer.trainable_weights) == case.trainable
    assert len(layer.non_trainable_weights) == case.non_trainable


# ------------------------------------------------------------------ weight-norm convolution

def _kernel_seen_by(layer, in_channels):
    """The layer's effective kernel `[3, 3, C_in, C_out]`, read off its responses to one-hot
    inputs (a 3x3 image, one 1 at the centre): `y[p, q, o] - bias = w[2 - p, 2 - q, i, o]`."""
    columns = []
    for i in range(in_channels):
        delta = np.zeros((1, 3, 3, in_channels))
        delta[0, 1, 1, i] = 1.0
        response = layer(tf.constant(delta)).numpy()[0] - layer.bias.numpy()
        columns.append(response[::-1, ::-1])  # [3, 3, C_out]
    return np.stack(columns, axis=2)


def test_weight_norm_conv_kernel_is_g_times_v_over_its_norm_per_output_channel():
    layer = WeightNormConv2D(4, dtype="float64")
    layer.build((None, 3, 3, 2))
    _randomize(layer)  # g of either sign, a non-zero bias
    v, g = layer.v.numpy(), layer.g.numpy()
    kernel = _kernel_seen_by(layer, in_channels=2)
    np.testing.assert_allclose(np.linalg.norm(kernel.reshape(-1, 4), axis=0), np.abs(g),
                               rtol=1e-10)
    np.testing.assert_allclose(kernel, g * v / np.linalg.norm(v.reshape(-1, 4), axis=0),
                               rtol=1e-10, atol=1e-12)
    # ... and the layer is that plain convolution plus the bias, on any image.
    x = tf.constant(np.random.default_rng(2).normal(size=(2, 5, 6, 2)))
    np.testing.assert_allclose(layer(x), tf.nn.conv2d(x, kernel, 1, "SAME") + layer.bias,
                               rtol=1e-10, atol=1e-12)
    # Weight norm: the length of v does not matter, only its direction.
    expected = layer(x).numpy()
    layer.v.assign(v * np.array([0.1, 2.0, 7.0, 0.5]))
    np.testing.assert_allclose(layer(x), expected, rtol=1e-9, atol=1e-10)


def test_weight_norm_conv_starts_with_unit_norm_or_as_zero():
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 4, 4, 3)))
    plain = WeightNormConv2D(5, dtype="float64")
    plain(x)
    np.testing.assert_allclose(np.linalg.norm(_kernel_seen_by(plain, 3).reshape(-1, 5), axis=0),
                               np.ones(5), rtol=1e-10)
    zero = WeightNormConv2D(5, zero_init=True, dtype="float64")
    assert np.all(zero(x).numpy() == 0.0)  # the last layer of every conditioner: identity coupling
    assert np.any(plain(x).numpy() != 0.0)


# ------------------------------------------------------------------ scale-and-shift head

@pytest.mark.parametrize("policy", ["float32", "float64", "mixed_bfloat16"])
def test_scale_and_shift_is_scale_tanh_and_identity(policy):
    rng = np.random.default_rng(4)
    head = ScaleAndShift(dtype=policy)
    raw = tf.cast(rng.normal(0.0, 3.0, (5, 2, 8)), COMPUTE_DTYPE[policy])  # tanh saturates too
    head(raw)
    scale = rng.normal(0.0, 2.0, 4)  # either sign
    head.scale.assign(scale)
    scale = head.scale.numpy().astype(np.float64)  # the stored values
    s, t = head(raw)
    assert s.dtype == t.dtype == FLOW_DTYPE[policy]
    raw = raw.numpy().astype(np.float64)  # the values the head saw
    np.testing.assert_array_equal(t, raw[..., 4:])
    assert np.all(np.abs(s.numpy()) <= np.abs(scale))
    np.testing.assert_allclose(s, scale * np.tanh(raw[..., :4]), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ the L2 penalty

def _penalised_weights(model):
    """Weight-norm `g`s and head `scale`s, found by layer type (not by name)."""
    return [layer.g if isinstance(layer, WeightNormConv2D) else layer.scale
            for layer in model._flatten_layers()
            if isinstance(layer, (WeightNormConv2D, ScaleAndShift))]


def _by_hand(model, l2):
    return l2 * sum(float(np.sum(np.square(w.numpy()))) for w in _penalised_weights(model))


@pytest.mark.parametrize("make, penalised", [(tiny_image_model, 4 * (4 + 1)),
                                             (tiny_vector_model, 4 * 1)],
                         ids=["image", "vector"])
def test_l2_penalty_is_l2_times_the_squares_of_g_and_scale(make, penalised):
    # image: 4 couplings x (4 weight-norm convs + 1 head); vector: 4 couplings x 1 head
    l2 = 0.1
    model = randomized(make(l2=l2, dtype="float64"))
    assert len(_penalised_weights(model)) == penalised == len(model.losses)
    expected = _by_hand(model, l2)
    assert expected > 0  # random g and scale: a sum that a wrong selection would change
    # Keras's L2 multiplies by `l2` as a float32 (0.1 is off by 1.5e-8 relative).
    np.testing.assert_allclose(float(tf.add_n(model.losses)), expected, rtol=1e-7)
    np.testing.assert_allclose(float(model.regularization_loss()), expected, rtol=1e-7)

    unpenalised = randomized(make(l2=0.0, dtype="float64"))
    assert unpenalised.losses == [] and float(unpenalised.regularization_loss()) == 0.0


def test_l2_penalty_enters_the_loss_and_its_gradient_exactly_once():
    l2 = 0.1
    model = randomized(tiny_image_model(l2=l2, dtype="float64"))
    x = np.random.default_rng(5).uniform(0, 4, (6, 4, 4, 1))
    with tf.GradientTape(persistent=True) as tape:
        nll, loss = model.compute_nll_and_loss(x, training=False)
        mean_nll = tf.reduce_mean(nll)
    np.testing.assert_allclose(nll, -model.log_prob(x), rtol=1e-12)
    np.testing.assert_allclose(float(loss - mean_nll), _by_hand(model, l2), rtol=1e-7)
    # d(loss)/dw - d(mean nll)/dw = 2 l2 w on the penalised weights, 0 on every other one.
    penalised = {id(w) for w in _penalised_weights(model)}
    weights = model.trainable_variables
    for w, total, data in zip(weights, tape.gradient(loss, weights),
                              tape.gradient(mean_nll, weights)):
        expected = 2 * l2 * w.numpy() if id(w) in penalised else np.zeros(w.shape)
        np.testing.assert_allclose(total - data, expected, rtol=1e-7, atol=1e-12, err_msg=w.path)

    # What `fit`/`evaluate` report: `loss` is `nll` plus the penalty once (one batch).
    model.compile()
    metrics = model.evaluate(x, batch_size=6, verbose=0, return_dict=True)
    np.testing.assert_allclose(metrics["loss"] - metrics["nll"], _by_hand(model, l2), rtol=1e-5)
