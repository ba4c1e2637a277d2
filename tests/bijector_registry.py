"""Every tfnvp bijector, built small and non-trivial, for the property tests.

Each entry is a factory `() -> (bijector, x)` with `x` a float64 batch in the bijector's domain.
Add a bijector here and `test_bijector_properties.py`-style tests cover it automatically.
"""
import numpy as np
import tensorflow as tf

from helpers import randomize_weights
from tfnvp import masks
from tfnvp.bijectors import AffineCoupling, BatchNorm, FactorOut, LogitPreprocessing, Squeeze
from tfnvp.nets import FlowBatchNormStatistics, MLPConditioner, ResNetConditioner

DTYPE = "float64"


def _normal(shape, seed):
    return tf.constant(np.random.default_rng(seed).normal(size=shape), tf.float64)


def _resnet(channels, seed):
    net = ResNetConditioner(channels, filters=4, num_blocks=1, dtype=DTYPE)
    net(tf.zeros((1, 4, 4, 2 * channels), tf.float64))
    randomize_weights(net, scale=0.3, seed=seed)
    return net


def _mlp(features, seed):
    net = MLPConditioner(features, hidden_units=8, hidden_layers=2, dtype=DTYPE)
    net(tf.zeros((1, 2 * features), tf.float64))
    randomize_weights(net, scale=0.5, seed=seed)
    return net


def coupling_checkerboard_even():
    mask = masks.checkerboard(4, 4, 2, parity=0)
    return AffineCoupling(mask, _resnet(2, 1), name="checker_even"), _normal((3, 4, 4, 2), 1)


def coupling_checkerboard_odd():
    mask = masks.checkerboard(4, 4, 2, parity=1)
    return AffineCoupling(mask, _resnet(2, 2), name="checker_odd"), _normal((3, 4, 4, 2), 2)


def coupling_channel_first():
    mask = masks.channel_halves(4, 4, 2, parity=0)
    return AffineCoupling(mask, _resnet(2, 3), name="channel_first"), _normal((3, 4, 4, 2), 3)


def coupling_channel_second():
    mask = masks.channel_halves(4, 4, 2, parity=1)
    return AffineCoupling(mask, _resnet(2, 4), name="channel_second"), _normal((3, 4, 4, 2), 4)


def coupling_vector_even():
    coupling = AffineCoupling(masks.vector_halves(5, 0), _mlp(5, 5), name="vec_even")
    return coupling, _normal((4, 5), 5)


def coupling_vector_odd():
    return AffineCoupling(masks.vector_halves(5, 1), _mlp(5, 6), name="vec_odd"), _normal((4, 5), 6)


def coupling_vector_extra_batch_dims():
    # A batch of any leading shape: [2, 3, D].
    coupling = AffineCoupling(masks.vector_halves(4, 1), _mlp(4, 7), name="vec_batch")
    return coupling, _normal((2, 3, 4), 7)


def coupling_image_extra_batch_dims():
    mask = masks.checkerboard(4, 4, 2, parity=1)
    return AffineCoupling(mask, _resnet(2, 14), name="image_batch"), _normal((2, 2, 4, 4, 2), 14)


def squeeze():
    return Squeeze(name="squeeze"), _normal((2, 2, 4, 6, 3), 8)  # two leading batch axes


def _statistics(features, seed):
    rng = np.random.default_rng(seed)
    stats = FlowBatchNormStatistics(features, momentum=0.9, dtype=DTYPE)
    stats.moving_mean.assign(rng.normal(0.0, 1.0, features))
    stats.moving_variance.assign(rng.uniform(0.3, 3.0, features))
    return stats


def batch_norm_image():
    return BatchNorm(_statistics(3, 9), event_ndims=3, name="bn_image"), _normal((3, 4, 4, 3), 9)


def batch_norm_vector():
    return BatchNorm(_statistics(4, 10), event_ndims=1, name="bn_vector"), _normal((5, 4), 10)


def logit_256():
    x = np.random.default_rng(11).uniform(0, 256, (3, 4, 4, 1))
    return LogitPreprocessing(256, event_ndims=3, name="logit256"), tf.constant(x, tf.float64)


def logit_17_vector():
    x = np.random.default_rng(12).uniform(0, 17, (4, 6))
    return LogitPreprocessing(17, event_ndims=1, name="logit17"), tf.constant(x, tf.float64)


def factor_out():
    inner = AffineCoupling(masks.checkerboard(4, 4, 2, 0), _resnet(2, 13), name="inner")
    return FactorOut(inner, name="factor_out"), _normal((3, 4, 4, 4), 13)


REGISTRY = {fn.__name__: fn for fn in [
    coupling_checkerboard_even, coupling_checkerboard_odd, coupling_channel_first,
    coupling_channel_second, coupling_vector_even, coupling_vector_odd,
    coupling_vector_extra_batch_dims, coupling_image_extra_batch_dims, squeeze, batch_norm_image,
    batch_norm_vector, logit_256, logit_17_vector, factor_out]}
