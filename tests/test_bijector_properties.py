"""Property-based tests (hypothesis): for every bijector, over random shapes, masks and parameters,

    inverse(forward(x)) == x,   fldj(x) == log|det J_autodiff(x)|,   fldj(x) == -ildj(forward(x)).

`test_bijectors.py` checks the same properties on fixed, hand-built cases (the registry); here
hypothesis searches the space around them. float64 throughout, so tolerances are tight.
"""
import numpy as np
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import autodiff_log_det, randomize_weights
from tfnvp import masks
from tfnvp.bijectors import AffineCoupling, BatchNorm, FactorOut, LogitPreprocessing, Squeeze
from tfnvp.nets import FlowBatchNormStatistics, MLPConditioner, ResNetConditioner

# Building Keras layers per example is the slow part: few examples, no deadline.
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**31 - 1)
BATCH_SHAPES = st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple)


def _normal(shape, seed, scale=1.0):
    return tf.constant(np.random.default_rng(seed).normal(0.0, scale, shape), tf.float64)


def _random_mask(shape, seed):
    """A binary mask of `shape` with at least one kept and one transformed entry."""
    mask = np.random.default_rng(seed).integers(0, 2, shape).astype(np.float32)
    flat = mask.reshape(-1)
    flat[0], flat[-1] = 1.0, 0.0
    return mask


def _check_bijector(bijector, x, event_ndims, rtol=1e-6):
    y, fldj = bijector.forward_and_log_det(x)
    assert y.dtype == x.dtype and fldj.dtype == x.dtype
    assert y.shape[:-event_ndims] == x.shape[:-event_ndims]
    assert int(np.prod(y.shape)) == int(np.prod(x.shape))
    assert tuple(fldj.shape) == tuple(x.shape[:-event_ndims])

    x_back, ildj = bijector.inverse_and_log_det(tf.identity(y))
    scale = np.max(np.abs(x.numpy())) + 1.0
    np.testing.assert_allclose(x_back, x, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(fldj, -ildj, rtol=1e-9, atol=1e-9)

    expected = autodiff_log_det(lambda t: bijector.forward_and_log_det(t)[0], x, event_ndims)
    np.testing.assert_allclose(fldj, expected, rtol=rtol, atol=1e-7)


@SETTINGS
@given(dim=st.integers(2, 7), mask_kind=st.sampled_from(["halves0", "halves1", "random"]),
       batch_shape=BATCH_SHAPES, weight_scale=st.floats(0.05, 1.0), seed=SEEDS)
def test_vector_coupling(dim, mask_kind, batch_shape, weight_scale, seed):
    mask = (_random_mask((dim,), seed) if mask_kind == "random"
            else masks.vector_halves(dim, parity=int(mask_kind[-1])))
    net = MLPConditioner(dim, hidden_units=8, hidden_layers=2, dtype="float64")
    net(tf.zeros((1, 2 * dim), tf.float64))
    randomize_weights(net, scale=weight_scale, seed=seed)
    bijector = AffineCoupling(mask, net)
    _check_bijector(bijector, _normal((*batch_shape, dim), seed, scale=2.0), event_ndims=1)


@SETTINGS
@given(height=st.integers(1, 4), width=st.integers(1, 4), channels=st.integers(1, 3),
       mask_kind=st.sampled_from(["checkerboard", "channel", "random"]),
       parity=st.integers(0, 1), batch=st.integers(1, 2), seed=SEEDS)
def test_image_coupling(height, width, channels, mask_kind, parity, batch, seed):
    shape = (height, width, channels)
    if mask_kind == "checkerboard" and height * width >= 2:
        mask = masks.checkerboard(*shape, parity=parity)
    elif mask_kind == "channel" and channels % 2 == 0:
        mask = masks.channel_halves(*shape, parity=parity)
    elif int(np.prod(shape)) >= 2:
        mask = _random_mask(shape, seed)
    else:
        return  # a single entry cannot be split into kept and transformed parts
    net = ResNetConditioner(channels, filters=4, num_blocks=1, dtype="float64")
    net(tf.zeros((1, height, width, 2 * channels), tf.float64))
    randomize_weights(net, scale=0.3, seed=seed)
    bijector = AffineCoupling(mask, net)
    _check_bijector(bijector, _normal((batch, *shape), seed), event_ndims=3)


@SETTINGS
@given(half_height=st.integers(1, 3), half_width=st.integers(1, 3), channels=st.integers(1, 4),
       batch_shape=BATCH_SHAPES, seed=SEEDS)
def test_squeeze_is_a_volume_preserving_permutation(half_height, half_width, channels,
                                                    batch_shape, seed):
    shape = (2 * half_height, 2 * half_width, channels)
    x = _normal((*batch_shape, *shape), seed)
    y = Squeeze().forward(x)
    assert tuple(y.shape) == (*batch_shape, half_height, half_width, 4 * channels)
    # A permutation within each example: the same multiset of values, nothing lost or duplicated.
    flat = lambda t: np.sort(tf.reshape(t, (*batch_shape, -1)).numpy(), axis=-1)  # noqa: E731
    np.testing.assert_array_equal(flat(y), flat(x))
    _check_bijector(Squeeze(), x, event_ndims=3, rtol=1e-12)


@SETTINGS
@given(features=st.integers(1, 4), image=st.booleans(), batch=st.integers(1, 4),
       epsilon=st.floats(1e-6, 1e-2), seed=SEEDS)
def test_batch_norm_evaluation_mode(features, image, batch, epsilon, seed):
    rng = np.random.default_rng(seed)
    stats = FlowBatchNormStatistics(features, momentum=0.9, epsilon=epsilon, dtype="float64")
    stats.moving_mean.assign(rng.normal(0.0, 3.0, features))
    stats.moving_variance.assign(rng.uniform(1e-3, 10.0, features))
    event = (3, 2, features) if image else (features,)
    bijector = BatchNorm(stats, event_ndims=len(event))
    _check_bijector(bijector, _normal((batch, *event), seed), event_ndims=len(event))


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


@SETTINGS
@given(height=st.integers(1, 3), width=st.integers(1, 3), half_channels=st.integers(1, 3),
       batch=st.integers(1, 3), seed=SEEDS)
def test_factor_out(height, width, half_channels, batch, seed):
    inner_shape = (height, width, half_channels)
    if int(np.prod(inner_shape)) < 2:
        return
    net = ResNetConditioner(half_channels, filters=4, num_blocks=1, dtype="float64")
    net(tf.zeros((1, height, width, 2 * half_channels), tf.float64))
    randomize_weights(net, scale=0.3, seed=seed)
    bijector = FactorOut(AffineCoupling(_random_mask(inner_shape, seed), net))
    x = _normal((batch, height, width, 2 * half_channels), seed)
    y = bijector.forward(x)
    # The first half of the channels leaves untouched.
    np.testing.assert_array_equal(y[..., :half_channels], x[..., :half_channels])
    _check_bijector(bijector, x, event_ndims=3)


@settings(max_examples=25, deadline=None)
@given(levels=st.integers(2, 256), alpha=st.floats(1e-3, 0.45),
       batch=st.integers(1, 3), dim=st.integers(1, 5), seed=SEEDS)
def test_logit_preprocessing_round_trip_and_log_det(levels, alpha, batch, dim, seed):
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
