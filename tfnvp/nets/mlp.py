"""MLP conditioner for vector couplings.

Compact (the vector flow's conditioner, given the coupling's `mask` b with d kept entries): the
paper's `R^d -> R^(D-d)` nets, s and t only where the coupling transforms:

    inputs [B, 2D] = concat(b * x, b)   -> x_kept [B, d]          (the kept entries only)
      -> hidden_layers x Dense(hidden_units, relu)
      -> Dense(2 (D-d), zero-initialised)                           (identity coupling at start)
      -> ScaleAndShift: s = scale * tanh(raw_s), t                  each [B, D-d]
      -> scattered to [B, D], zero on the kept entries

Without a mask (any mask at call time, as the property tests use it): `concat(b*x, b)` [B, 2D]
-> the same layers -> `(s, t)` each [B, D]. That is 2D inputs and 2D outputs where the compact
net has d and 2(D-d): for D = 63 and 2 x 256 hidden units, 130k multiply-adds per example and
coupling against 90k.
"""
import keras
import numpy as np

from tfnvp.masks import validate_mask
from tfnvp.nets.injective_gather import adjoint_index, injective_gather
from tfnvp.nets.scale_and_shift import ScaleAndShift

__all__ = ["MLPConditioner"]


@keras.saving.register_keras_serializable("tfnvp")
class MLPConditioner(keras.layers.Layer):
    """`concat(b*x, b)` `[B, 2D]` -> `(s, t)`, each `[B, D]`.

    Args:
      features: D.
      hidden_units, hidden_layers: the MLP's width and depth (ReLU).
      l2: L2 penalty on the head's `scale`.
      mask: the coupling's `[D]` mask (1 = kept): the compact net, which sees only the kept
        entries and outputs only the transformed ones. None: the net sees `concat(b*x, b)` and
        outputs every entry (the coupling zeroes the kept ones).
    """

    def __init__(self, features, hidden_units, hidden_layers, l2=0.0, mask=None, **kwargs):
        super().__init__(**kwargs)
        self.features = int(features)
        self.hidden_units = int(hidden_units)
        self.hidden_layers = int(hidden_layers)
        self.l2 = float(l2)
        self.mask = None if mask is None else validate_mask(mask, (self.features,))
        outputs = self.features
        if self.mask is not None:
            # 1-based gather indices (0 = a zero), see tfnvp.nets.injective_gather:
            # the net's input k is x's kept entry k; feature i of (s, t) is compact entry
            # position[i] - 1 on the transformed entries and 0 on the kept ones.
            self._kept = 1 + np.flatnonzero(self.mask == 1).astype(np.int32)
            transformed = np.flatnonzero(self.mask == 0)
            self._position = np.zeros(self.features, np.int32)
            self._position[transformed] = 1 + np.arange(transformed.size, dtype=np.int32)
            self._kept_adjoint = adjoint_index(self._kept, 2 * self.features)  # of [b*x, b]
            self._position_adjoint = adjoint_index(self._position, transformed.size)
            outputs = transformed.size
        policy = self.dtype_policy
        self.hidden = [keras.layers.Dense(hidden_units, activation="relu", dtype=policy,
                                          name=f"dense{i}") for i in range(hidden_layers)]
        self.output_dense = keras.layers.Dense(2 * outputs, kernel_initializer="zeros",
                                               dtype=policy, name="output_dense")
        self.head = ScaleAndShift(l2=l2, dtype=policy, name="scale_and_shift")

    def build(self, input_shape):
        # Every weight from the shape alone (a deserialised layer is built before any call).
        width = input_shape[-1] if self.mask is None else self._kept.size
        shape = (*input_shape[:-1], width)
        for layer in self.hidden:
            layer.build(shape)
            shape = (*input_shape[:-1], self.hidden_units)
        self.output_dense.build(shape)
        self.head.build((*input_shape[:-1], self.output_dense.units))

    def call(self, inputs, training=None):
        h = inputs
        if self.mask is not None:
            # b*x on the kept entries is x there
            h = injective_gather(inputs, self._kept, self._kept_adjoint)
        for layer in self.hidden:
            h = layer(h)
        s, t = self.head(self.output_dense(h))
        if self.mask is None:
            return s, t
        return self._scatter(s), self._scatter(t)

    def _scatter(self, compact):
        """`[..., D-d]` -> `[..., D]` with zeros on the kept entries."""
        return injective_gather(compact, self._position, self._position_adjoint)

    def get_config(self):
        return {**super().get_config(), "features": self.features,
                "hidden_units": self.hidden_units, "hidden_layers": self.hidden_layers,
                "l2": self.l2, "mask": None if self.mask is None else self.mask.tolist()}
