"""Property-based tests (hypothesis): for every bijector, over random inputs, batch shapes, masks
and parameters,

    inverse(forward(x)) == x,   fldj(x) == -ildj(forward(x)),   fldj(x) == log|det J_autodiff(x)|.

`test_registry_bijector` runs these on every entry of `bijector_registry.REGISTRY` (each built
once, its conditioner weights and batch-norm statistics re-drawn per example); the tests after it
search what the registry fixes: masks, event shapes, the momentum rule, `levels` and `alpha`.
float64 throughout, so tolerances are tight.
"""
import functools

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bijector_registry import REGISTRY
from helpers import autodiff_log_det, randomize_weights
from tfnvp import masks
from tfnvp.bijectors import (
    AffineCoupling,
    BatchNorm,
    FactorOut,
    FlowChain,
    LogitPreprocessing,
    Squeeze,
)
from tfnvp.nets import FlowBatchNormStatistics, MLPConditioner, ResNetConditioner

# Building Keras layers is the slow part: few examples, no deadline.
SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**31 - 1)
BATCH_SHAPES = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)  # [] = one example


def _normal(shape, seed, scale=1.0, offset=0.0):
    rng = np.random.default_rng(seed)
    return tf.constant(offset + rng.normal(0.0, scale, shape), tf.float64)


def _random_mask(shape, seed):
    """A binary mask of `shape` with at least one kept and one transformed entry."""
    mask = np.random.default_rng(seed).integers(0, 2, shape).astype(np.float32)
    flat = mask.reshape(-1)
    flat[0], flat[-1] = 1.0, 0.0
    return mask


def _check_bijector(bijector, x):
    """Round trip through TFP's API (cache broken), fldj == -ildj, fldj == autodiff, shapes."""
    n = bijector.forward_min_event_ndims
    batch_shape = tuple(x.shape[:-n])
    y = bijector.forward(x)
    fldj = bijector.forward_log_det_jacobian(x, event_ndims=n)
    assert y.dtype == x.dtype and fldj.dtype == x.dtype
    assert tuple(y.shape[:-n]) == batch_shape and tuple(fldj.shape) == batch_shape
    assert int(np.prod(y.shape)) == int(np.prod(x.shape))

    y_new = tf.identity(y)  # a new tensor: TFP's cache cannot hand back x
    x_back = bijector.inverse(y_new)
    ildj = bijector.inverse_log_det_jacobian(y_new, event_ndims=n)
    scale = np.max(np.abs(x.numpy()), initial=0.0) + 1.0
    np.testing.assert_allclose(x_back, x, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(fldj, -ildj, rtol=1e-9, atol=1e-9)

    expected = autodiff_log_det(lambda t: bijector.forward_and_log_det(t)[0], x, n)
    np.testing.assert_allclose(fldj, expected, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ every registered bijector

@functools.cache
def _registered(name):
    """The registry's `(bijector, x)`, built once per test session (Keras layers are slow)."""
    return REGISTRY[name]()


def _borrowed_layers(bijector):
    """The Keras layers a bijector and its sub-bijectors borrow, in order."""
    if isinstance(bijector, FlowChain):
        return [layer for step in bijector.steps for layer in _borrowed_layers(step)]
    if isinstance(bijector, FactorOut):
        return _borrowed_layers(bijector.inner)
    if isinstance(bijector, AffineCoupling):
        return [bijector.conditioner]
    if isinstance(bijector, BatchNorm):
        return [bijector.statistics]
    return []


def _redraw_state(bijector, weight_scale, seed):
    """New conditioner weights and running statistics, so every example is another flow."""
    rng = np.random.default_rng(seed)
    for i, layer in enumerate(_borrowed_layers(bijector)):
        if isinstance(layer, FlowBatchNormStatistics):
            layer.moving_mean.assign(rng.normal(0.0, 2.0, layer.features))
            layer.moving_variance.assign(rng.uniform(0.05, 5.0, layer.features))
        else:
            randomize_weights(layer, scale=weight_scale, seed=seed + i)


def _inputs(bijector, event_shape, batch_shape, spread, offset, seed):
    """`offset + spread * N(0, 1)`, or uniform inside the support for a bounded domain."""
    shape = (*batch_shape, *event_shape)
    if isinstance(bijector, LogitPreprocessing):
        low, high = bijector.support()
        u = np.random.default_rng(seed).uniform(1e-3, 1.0 - 1e-3, shape)
        return tf.constant(low + (high - low) * u, tf.float64)
    return _normal(shape, seed, scale=spread, offset=offset)


# Every entry, not a sample of names: a bijector the draw missed would go untested that run.
@pytest.mark.parametrize("name", sorted(REGISTRY))
@settings(SETTINGS, max_examples=2)
@given(batch_shape=BATCH_SHAPES, spread=st.floats(0.1, 4.0), offset=st.floats(-3.0, 3.0),
       weight_scale=st.floats(0.05, 1.0), seed=SEEDS)
def test_registry_bijector(name, batch_shape, spread, offset, weight_scale, seed):
    bijector, example = _registered(name)
    _redraw_state(bijector, weight_scale, seed)
    event_shape = example.shape[example.shape.rank - bijector.forward_min_event_ndims:]
    _check_bijector(bijector, _inputs(bijector, event_shape, batch_shape, spread, offset, seed))


# ------------------------------------------------------------------ what the registry fixes

# One conditioner per width, built once: a convolution takes any height and width, and each
# example draws new weights.
@functools.cache
def _mlp(features):
    net = MLPConditioner(features, hidden_units=8, hidden_layers=2, dtype="float64")
    net(tf.zeros((1, 2 * features), tf.float64))
    return net


@functools.cache
def _resnet(channels):
    net = ResNetConditioner(channels, filters=4, num_blocks=1, dtype="float64")
    net(tf.zeros((1, 4, 4, 2 * channels), tf.float64))
    return net

@SETTINGS
@given(dim=st.integers(2, 7), mask_kind=st.sampled_from(["halves0", "halves1", "random"]),
       seed=SEEDS)
def test_vector_coupling_any_width_and_mask(dim, mask_kind, seed):
    mask = (_random_mask((dim,), seed) if mask_kind == "random"
            else masks.vector_halves(dim, parity=int(mask_kind[-1])))
    net = _mlp(dim)
    randomize_weights(net, scale=0.5, seed=seed)
    _check_bijector(AffineCoupling(mask, net), _normal((3, dim), seed, scale=2.0))


@settings(SETTINGS, max_examples=8)
@given(height=st.integers(1, 4), width=st.integers(1, 4), channels=st.integers(1, 3),
       mask_kind=st.sampled_from(["checkerboard", "channel", "random"]),
       parity=st.integers(0, 1), factored=st.booleans(), seed=SEEDS)
def test_image_coupling_any_shape_and_mask(height, width, channels, mask_kind, parity, factored,
                                           seed):
    """A coupling on `[H, W, C]`, alone or as the inner flow of a FactorOut on `[H, W, 2C]`."""
    shape = (height, width, channels)
    if mask_kind == "checkerboard":
        assume(height * width >= 2)  # one pixel cannot be split into kept and transformed parts
        mask = masks.checkerboard(*shape, parity=parity)
    elif mask_kind == "channel":
        assume(channels % 2 == 0)
        mask = masks.channel_halves(*shape, parity=parity)
    else:
        assume(int(np.prod(shape)) >= 2)
        mask = _random_mask(shape, seed)
    net = _resnet(channels)
    randomize_weights(net, scale=0.3, seed=seed)
    bijector = AffineCoupling(mask, net)
    if not factored:
        _check_bijector(bijector, _normal((2, *shape), seed))
        return
    bijector = FactorOut(bijector)
    x = _normal((2, height, width, 2 * channels), seed)
    # The first half of the channels leaves untouched.
    np.testing.assert_array_equal(bijector.forward(x)[..., :channels], x[..., :channels])
    _check_bijector(bijector, x)


@SETTINGS
@given(half_height=st.integers(1, 3), half_width=st.integers(1, 3), channels=st.integers(1, 4),
       seed=SEEDS)
def test_squeeze_is_a_permutation_for_any_even_shape(half_height, half_width, channels, seed):
    shape = (2 * half_height, 2 * half_width, channels)
    x = _normal((2, *shape), seed)
    y, log_det = Squeeze().forward_and_log_det(x)
    assert tuple(y.shape) == (2, half_height, half_width, 4 * channels)
    # A permutation within each example: the same multiset of values, nothing lost or duplicated.
    flat = lambda t: np.sort(tf.reshape(t, (2, -1)).numpy(), axis=-1)  # noqa: E731
    np.testing.assert_array_equal(flat(y), flat(x))
    np.testing.assert_array_equal(log_det, np.zeros(2))
    np.testing.assert_array_equal(Squeeze().inverse(tf.identity(y)), x)


@SETTINGS
@given(features=st.integers(1, 3), batch=st.integers(2, 5), momentum=st.floats(0.0, 0.999),
       seed=SEEDS)
def test_batch_norm_training_mode_follows_the_momentum_rule(features, batch, momentum, seed):
    rng = np.random.default_rng(seed)
    stats = FlowBatchNormStatistics(features, momentum=momentum, dtype="float64")
    old_mean, old_var = rng.normal(0.0, 1.0, features), rng.uniform(0.5, 2.0, features)
    stats.moving_mean.assign(old_mean)
    stats.moving_variance.assign(old_var)
    x = _normal((batch, features), seed, scale=2.0)
    y, log_det = BatchNorm(stats, event_ndims=1).forward_and_log_det(x, training=True)
    mean = momentum * old_mean + (1 - momentum) * x.numpy().mean(0)
    var = momentum * old_var + (1 - momentum) * x.numpy().var(0)
    np.testing.assert_allclose(stats.moving_mean, mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats.moving_variance, var, rtol=1e-10)
    np.testing.assert_allclose(y, (x.numpy() - mean) / np.sqrt(var + stats.epsilon), rtol=1e-10)
    np.testing.assert_allclose(log_det, np.full(batch, -0.5 * np.log(var + stats.epsilon).sum()),
                               rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(levels=st.integers(2, 256), alpha=st.floats(1e-3, 0.45),
       batch=st.integers(1, 3), dim=st.integers(1, 5), seed=SEEDS)
def test_logit_preprocessing_any_levels_and_alpha(levels, alpha, batch, dim, seed):
    bij = LogitPreprocessing(levels, event_ndims=1, alpha=alpha)
    x = tf.constant(np.random.default_rng(seed).uniform(0, levels, (batch, dim)), tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y, fldj = bij.forward_and_log_det(x)
    x_back, ildj = bij.inverse_and_log_det(y)
    np.testing.assert_allclose(x_back, x, rtol=1e-6, atol=1e-6 * levels)
    np.testing.assert_allclose(fldj, -ildj, rtol=1e-8, atol=1e-8)
    # Elementwise map: the Jacobian is diagonal, its log-det the sum of log dy_i/dx_i.
    diag = tape.gradient(y, x)
    np.testing.assert_allclose(fldj, tf.reduce_sum(tf.math.log(tf.abs(diag)), -1), rtol=1e-8)
