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


@pytest.fixture(autouse=True)
def _seed():
    tf.random.set_seed(0)
    np.random.seed(0)
