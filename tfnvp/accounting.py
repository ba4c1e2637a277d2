"""Nats <-> bits per dimension: the one place the conversion lives.

    bits/dim = -log p(x) / (D * ln 2)

with `log p` a density in units of the raw data (pixel values in `[0, levels)`) and `D` the
number of dimensions of one example (H*W*C). A uniform density on `[0, L)^D` scores `log2(L)`.
"""
import math

import tensorflow as tf

__all__ = ["bits_per_dim", "nats_to_bits_per_dim"]


def nats_to_bits_per_dim(nll, num_dims):
    """Negative log-likelihood in nats per example -> bits per dimension (same shape)."""
    return nll / (num_dims * math.log(2.0))


def bits_per_dim(log_prob, num_dims):
    """`log_prob` (nats per example, raw-data units) -> bits per dimension."""
    return nats_to_bits_per_dim(-tf.convert_to_tensor(log_prob), num_dims)
