"""Permute: a fixed reordering of a vector's features, log-det 0 (beyond the paper).

    y[..., i] = x[..., permutation[i]]            x = y[..., argsort(permutation)]

Real NVP mixes vector features only through its alternating masks; a fixed random permutation
between couplings (as in Glow's and the MAF paper's flows) lets every feature condition every
other one after a few couplings, whatever the mask. A permutation is volume preserving.
Both directions gather through `tfnvp.nets.injective_gather`, whose gradient is the inverse
gather (TensorFlow's own transposes the whole batch twice).
"""
import numpy as np
import tensorflow as tf

from tfnvp.bijectors.flow_bijector import FlowBijector
from tfnvp.nets.injective_gather import injective_gather

__all__ = ["Permute"]


class Permute(FlowBijector):
    """`[..., D] -> [..., D]`: `permutation` is a reordering of `0 .. D-1`."""

    def __init__(self, permutation, name="permute"):
        parameters = dict(locals())
        permutation = np.asarray(permutation)
        dim = permutation.size
        if (permutation.ndim != 1 or dim < 2 or not np.issubdtype(permutation.dtype, np.integer)
                or not np.array_equal(np.sort(permutation), np.arange(dim))):
            raise ValueError(f"`permutation` must hold each of 0 .. D-1 once (D >= 2), got "
                             f"{permutation.tolist()!r}.")
        self._permutation = permutation.astype(np.int32)
        self._inverse_permutation = np.argsort(self._permutation).astype(np.int32)
        super().__init__(event_ndims=1, parameters=parameters, name=name,
                         is_constant_jacobian=True)

    @classmethod
    def random(cls, dim, seed, name="permute"):
        """A uniformly random permutation of `dim` features, fixed by `seed` (an int or a list
        of ints, as `numpy.random.default_rng` takes)."""
        return cls(np.random.default_rng(seed).permutation(int(dim)), name=name)

    @property
    def permutation(self):
        return self._permutation

    def _check_event(self, x):
        if x.shape[-1] is not None and x.shape[-1] != self._permutation.size:
            raise ValueError(f"{self.name}: input has {x.shape[-1]} features, the permutation "
                             f"{self._permutation.size} (shape {x.shape}).")

    def forward_and_log_det(self, x, training=False):
        self._check_event(x)
        # 1-based indices of injective_gather: output i reads input permutation[i]
        return (injective_gather(x, 1 + self._permutation, 1 + self._inverse_permutation),
                tf.zeros(tf.shape(x)[:-1], dtype=x.dtype))

    def inverse_and_log_det(self, y):
        self._check_event(y)
        return (injective_gather(y, 1 + self._inverse_permutation, 1 + self._permutation),
                tf.zeros(tf.shape(y)[:-1], dtype=y.dtype))
