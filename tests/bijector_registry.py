"""Every tfnvp bijector, built small and non-trivial, for the property tests.

Each entry is a factory `(dtype="float64") -> (bijector, x)` with `x` a batch of that dtype in the
bijector's domain. Add a bijector here and the fixed-case tests (`test_bijectors.py`), the
property tests (`test_bijector_properties.py`) and TFP's contract (`test_tfp_contract.py`) cover it.
"""
import numpy as np
import tensorflow as tf

from helpers import randomize_weights
from tfnvp import masks
from tfnvp.bijectors import (
    AffineCoupling,
    BatchNorm,
    FactorOut,
    FlowChain,
    LogitPreprocessing,
    Permute,
    Squeeze,
    Unsqueeze,
)
from tfnvp.nets import FlowBatchNormStatistics, MLPConditioner, ResNetConditioner

DTYPE = "float64"


def _normal(shape, seed, dtype=DTYPE):
    return tf.constant(np.random.default_rng(seed).normal(size=shape), dtype)


def _resnet(channels, seed, dtype):
    net = ResNetConditioner(channels, filters=4, num_blocks=1, dtype=dtype)
    net(tf.zeros((1, 4, 4, 2 * channels), dtype))
    randomize_weights(net, scale=0.3, seed=seed)
    return net


def _mlp(features, seed, dtype):
    net = MLPConditioner(features, hidden_units=8, hidden_layers=2, dtype=dtype)
    net(tf.zeros((1, 2 * features), dtype))
    randomize_weights(net, scale=0.5, seed=seed)
    return net


def _image_coupling(mask, seed, name, dtype):
    return AffineCoupling(mask, _resnet(mask.shape[-1], seed, dtype), name=name)


def coupling_checkerboard_even(dtype=DTYPE):
    mask = masks.checkerboard(4, 4, 2, parity=0)
    return _image_coupling(mask, 1, "checker_even", dtype), _normal((3, 4, 4, 2), 1, dtype)


def coupling_checkerboard_odd(dtype=DTYPE):
    mask = masks.checkerboard(4, 4, 2, parity=1)
    return _image_coupling(mask, 2, "checker_odd", dtype), _normal((3, 4, 4, 2), 2, dtype)


def coupling_channel_first(dtype=DTYPE):
    mask = masks.channel_halves(4, 4, 2, parity=0)
    return _image_coupling(mask, 3, "channel_first", dtype), _normal((3, 4, 4, 2), 3, dtype)


def coupling_channel_second(dtype=DTYPE):
    mask = masks.channel_halves(4, 4, 2, parity=1)
    return _image_coupling(mask, 4, "channel_second", dtype), _normal((3, 4, 4, 2), 4, dtype)


def coupling_vector_even(dtype=DTYPE):
    coupling = AffineCoupling(masks.vector_halves(5, 0), _mlp(5, 5, dtype), name="vec_even")
    return coupling, _normal((4, 5), 5, dtype)


def coupling_vector_odd(dtype=DTYPE):
    coupling = AffineCoupling(masks.vector_halves(5, 1), _mlp(5, 6, dtype), name="vec_odd")
    return coupling, _normal((4, 5), 6, dtype)


def coupling_vector_extra_batch_dims(dtype=DTYPE):
    # A batch of any leading shape: [2, 3, D].
    coupling = AffineCoupling(masks.vector_halves(4, 1), _mlp(4, 7, dtype), name="vec_batch")
    return coupling, _normal((2, 3, 4), 7, dtype)


def coupling_image_extra_batch_dims(dtype=DTYPE):
    mask = masks.checkerboard(4, 4, 2, parity=1)
    return _image_coupling(mask, 14, "image_batch", dtype), _normal((2, 2, 4, 4, 2), 14, dtype)


def _compact_mlp(mask, seed, dtype):
    """The vector flow's conditioner: sees the kept entries only, outputs the transformed ones."""
    net = MLPConditioner(mask.size, hidden_units=8, hidden_layers=2, mask=mask, dtype=dtype)
    net(tf.zeros((1, 2 * mask.size), dtype))
    randomize_weights(net, scale=0.5, seed=seed)
    return net


def coupling_vector_compact_alternating(dtype=DTYPE):
    mask = masks.vector_alternating(5, 1)
    coupling = AffineCoupling(mask, _compact_mlp(mask, 20, dtype), name="vec_compact_alt")
    return coupling, _normal((4, 5), 20, dtype)


def coupling_vector_compact_random(dtype=DTYPE):
    mask = masks.vector_random(6, seed=3, parity=0)
    coupling = AffineCoupling(mask, _compact_mlp(mask, 21, dtype), name="vec_compact_random")
    return coupling, _normal((2, 3, 6), 21, dtype)  # leading batch shape [2, 3]


def permute_vector(dtype=DTYPE):
    return Permute.random(5, seed=22, name="permute"), _normal((4, 5), 22, dtype)


def squeeze(dtype=DTYPE):
    return Squeeze(name="squeeze"), _normal((2, 2, 4, 6, 3), 8, dtype)  # two leading batch axes


def unsqueeze(dtype=DTYPE):
    return Unsqueeze(name="unsqueeze"), _normal((3, 2, 3, 8), 15, dtype)


def _statistics(features, seed, dtype):
    rng = np.random.default_rng(seed)
    stats = FlowBatchNormStatistics(features, momentum=0.9, dtype=dtype)
    stats.moving_mean.assign(rng.normal(0.0, 1.0, features))
    stats.moving_variance.assign(rng.uniform(0.3, 3.0, features))
    return stats


def batch_norm_image(dtype=DTYPE):
    bijector = BatchNorm(_statistics(3, 9, dtype), event_ndims=3, name="bn_image")
    return bijector, _normal((3, 4, 4, 3), 9, dtype)


def batch_norm_vector(dtype=DTYPE):
    bijector = BatchNorm(_statistics(4, 10, dtype), event_ndims=1, name="bn_vector")
    return bijector, _normal((5, 4), 10, dtype)


def logit_256(dtype=DTYPE):
    x = np.random.default_rng(11).uniform(0, 256, (3, 4, 4, 1))
    return LogitPreprocessing(256, event_ndims=3, name="logit256"), tf.constant(x, dtype)


def logit_17_vector(dtype=DTYPE):
    x = np.random.default_rng(12).uniform(0, 17, (4, 6))
    return LogitPreprocessing(17, event_ndims=1, name="logit17"), tf.constant(x, dtype)


def factor_out(dtype=DTYPE):
    inner = _image_coupling(masks.checkerboard(4, 4, 2, 0), 13, "inner", dtype)
    return FactorOut(inner, name="factor_out"), _normal((3, 4, 4, 4), 13, dtype)


def flow_chain_image(dtype=DTYPE):
    """coupling -> batch norm -> squeeze -> channel coupling -> unsqueeze, on [4, 4, 1]."""
    coupling = _image_coupling(masks.checkerboard(4, 4, 1, 0), 16, "chain_checker", dtype)
    channel = _image_coupling(masks.channel_halves(2, 2, 4, 1), 17, "chain_channel", dtype)
    steps = [coupling, BatchNorm(_statistics(1, 18, dtype), event_ndims=3, name="chain_bn"),
             Squeeze(name="chain_squeeze"), channel, Unsqueeze(name="chain_unsqueeze")]
    return FlowChain(steps, name="chain_image"), _normal((3, 4, 4, 1), 16, dtype)


def flow_chain_vector(dtype=DTYPE):
    steps = [AffineCoupling(masks.vector_halves(3, k % 2), _mlp(3, 19 + k, dtype),
                            name=f"chain_vec{k}") for k in range(3)]
    return FlowChain(steps, name="chain_vector"), _normal((4, 3), 19, dtype)


REGISTRY = {fn.__name__: fn for fn in [
    coupling_checkerboard_even, coupling_checkerboard_odd, coupling_channel_first,
    coupling_channel_second, coupling_vector_even, coupling_vector_odd,
    coupling_vector_extra_batch_dims, coupling_image_extra_batch_dims,
    coupling_vector_compact_alternating, coupling_vector_compact_random, permute_vector,
    squeeze, unsqueeze,
    batch_norm_image, batch_norm_vector, logit_256, logit_17_vector, factor_out,
    flow_chain_image, flow_chain_vector]}
