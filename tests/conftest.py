"""Shared test helpers: deterministic seeds and randomised (non-identity) networks."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402


def randomize_weights(layer, scale=0.3, seed=0):
    """Overwrite every trainable weight of ``layer`` with N(0, scale^2) so couplings are not the
    identity (conditioners start at zero output by design). Non-trainable weights are kept."""
    rng = np.random.default_rng(seed)
    for weight in layer.trainable_weights:
        weight.assign(rng.normal(0.0, scale, weight.shape).astype(weight.dtype))


def randomize_flow_statistics(model, seed=0):
    """Give every flow-path batch norm a non-trivial running mean and variance."""
    rng = np.random.default_rng(seed)
    for stats in model.batch_norm_statistics:
        stats.moving_mean.assign(rng.normal(0.0, 0.5, stats.moving_mean.shape))
        stats.moving_variance.assign(rng.uniform(0.5, 2.0, stats.moving_variance.shape))


def autodiff_log_det(fn, x, event_ndims):
    """log|det J| of `fn` at each example of `x`, from the full autodiff Jacobian."""
    batch_shape = x.shape[:-event_ndims]
    flat_x = tf.reshape(x, [-1, *x.shape[-event_ndims:]])
    with tf.GradientTape() as tape:
        tape.watch(flat_x)
        y = fn(flat_x)
    jac = tape.batch_jacobian(y, flat_x)
    n = flat_x.shape[0]
    d_in = int(np.prod(flat_x.shape[1:]))
    d_out = int(np.prod(y.shape[1:]))
    assert d_in == d_out, "a bijector keeps the number of dimensions"
    _, log_abs = np.linalg.slogdet(tf.reshape(jac, [n, d_out, d_in]).numpy())
    return log_abs.reshape(batch_shape)


@pytest.fixture(autouse=True)
def _seed():
    tf.random.set_seed(0)
    np.random.seed(0)
