"""MLP conditioner for vector couplings.

    inputs [B, 2D] = concat(b * x, b)
      -> hidden_layers x Dense(hidden_units, relu)
      -> Dense(2D, zero-initialised)                 (identity coupling at start)
      -> ScaleAndShift: s = scale * tanh(raw_s), t   each [B, D]
"""
import keras

from tfnvp.nets.scale_and_shift import ScaleAndShift

__all__ = ["MLPConditioner"]


@keras.saving.register_keras_serializable("tfnvp")
class MLPConditioner(keras.layers.Layer):
    """`concat(b*x, b)` `[B, 2D]` -> `(s, t)`, each `[B, D]`."""

    def __init__(self, features, hidden_units, hidden_layers, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.features = int(features)
        self.hidden_units = int(hidden_units)
        self.hidden_layers = int(hidden_layers)
        self.l2 = float(l2)
        policy = self.dtype_policy
        self.hidden = [keras.layers.Dense(hidden_units, activation="relu", dtype=policy,
                                          name=f"dense{i}") for i in range(hidden_layers)]
        self.output_dense = keras.layers.Dense(2 * features, kernel_initializer="zeros",
                                               dtype=policy, name="output_dense")
        self.head = ScaleAndShift(l2=l2, dtype=policy, name="scale_and_shift")

    def call(self, inputs, training=None):
        h = inputs
        for layer in self.hidden:
            h = layer(h)
        return self.head(self.output_dense(h))

    def get_config(self):
        return {**super().get_config(), "features": self.features,
                "hidden_units": self.hidden_units, "hidden_layers": self.hidden_layers,
                "l2": self.l2}
