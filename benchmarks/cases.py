"""The benchmark cases: which model, which batch, which data (all synthetic, generated here).

    vector        tfnvp.RealNVP((16,), 8 couplings, MLP 2 x 256), batch 256
    vector_tfp    the same architecture from tfb.RealNVP + tfb.Permute (benchmarks.reference)
    digits        tfnvp.RealNVP((8, 8, 1), levels=17): the demo's default model, batch 64
    cifar         tfnvp.RealNVP((32, 32, 3), levels=256) at the paper's CIFAR-10 width (sec. 4.1:
                  8 residual blocks of 64 feature maps, one squeeze -> num_scales=2), batch 64

Each case is built for a dtype policy ("float32" or "mixed_bfloat16").
"""
import dataclasses

import numpy as np
import tensorflow as tf

import tfnvp
from benchmarks.reference import TFPRealNVP

__all__ = ["Case", "CASES", "vector_data", "pixel_data"]


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    build: callable          # dtype -> model
    data: callable           # batch -> tf.Tensor [batch, *event]
    batch: int
    reference: str = None    # name of the case this one is compared with (ours / reference)


def vector_data(batch, dim=16, seed=0):
    """A non-Gaussian 16-D benchmark set: banana pairs mixed by a fixed random rotation.

        z ~ N(0, I);  u_2k = z_2k,  u_2k+1 = z_2k+1 / 2 + z_2k^2 / 2 - 1/2;  x = Q u
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, dim))
    u = z.copy()
    u[:, 1::2] = 0.5 * z[:, 1::2] + 0.5 * z[:, 0::2] ** 2 - 0.5
    rotation, _ = np.linalg.qr(np.random.default_rng(12345).standard_normal((dim, dim)))
    return tf.constant(u @ rotation.T, tf.float32)


def pixel_data(batch, shape, levels, seed=0):
    """Dequantised random pixels in [0, levels): the speed does not depend on the content."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, levels, (batch, *shape)) + rng.uniform(0, 1, (batch, *shape))
    return tf.constant(values, tf.float32)


def vector_model(dtype, dim=16, num_couplings=8):
    return tfnvp.RealNVP((dim,), num_couplings=num_couplings, hidden_units=256, hidden_layers=2,
                         flow_batch_norm=False, dtype=dtype)


def image_model(side, channels, levels, dtype, **architecture):
    return tfnvp.RealNVP((side, side, channels), levels, dtype=dtype, **architecture)


CIFAR = dict(num_scales=2, num_res_blocks=8, num_filters=64)

CASES = {
    "vector": Case("vector", vector_model, vector_data, 256, reference="vector_tfp"),
    "vector_tfp": Case("vector_tfp", lambda dtype: TFPRealNVP(16, 8, 256, 2, dtype=dtype),
                       vector_data, 256),
    "digits": Case("digits", lambda dtype: image_model(8, 1, 17, dtype),
                   lambda b: pixel_data(b, (8, 8, 1), 17), 64),
    "cifar": Case("cifar", lambda dtype: image_model(32, 3, 256, dtype, **CIFAR),
                  lambda b: pixel_data(b, (32, 32, 3), 256), 64),
}
