"""The head shared by every conditioner: raw network output -> (s, t).

    s = scale * tanh(raw_s)      (learned per-feature `scale`, init 1, L2-penalised)
    t = raw_t                    (affine)

Outputs are float32 whatever the layer's compute dtype, so the flow arithmetic (exp(s), log-dets)
stays in float32 under a mixed-precision policy (float64 models stay float64).
"""
import keras
import tensorflow as tf

__all__ = ["ScaleAndShift"]


@keras.saving.register_keras_serializable("tfnvp")
class ScaleAndShift(keras.layers.Layer):
    """`[..., 2*C] -> (s [..., C], t [..., C])`, split on the last axis (first half -> s)."""

    def __init__(self, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = float(l2)

    def build(self, input_shape):
        channels = int(input_shape[-1]) // 2
        self.scale = self.add_weight(  # never autocast: s is flow arithmetic, float32
            name="scale", shape=(channels,), initializer="ones", autocast=False,
            regularizer=keras.regularizers.L2(self.l2) if self.l2 else None)

    def call(self, raw):
        flow_dtype = self.variable_dtype  # float32 under mixed precision
        raw = tf.cast(raw, flow_dtype)
        raw_s, t = tf.split(raw, 2, axis=-1)
        return tf.cast(self.scale, flow_dtype) * tf.tanh(raw_s), t

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}
