"""2-D convolution with weight normalisation (Salimans & Kingma 2016), as Real NVP's ResNet uses.

    w[..., o] = g[o] * v[..., o] / ||v[..., o]||          y = conv2d(x, w, 'SAME') + bias

`zero_init=True` starts `g` (and the bias) at zero, so the layer outputs zeros: the last layer of
every conditioner is built this way, which makes each coupling the identity at initialisation.
"""
import keras
import tensorflow as tf

__all__ = ["WeightNormConv2D"]


@keras.saving.register_keras_serializable("tfnvp")
class WeightNormConv2D(keras.layers.Layer):
    """`[B, H, W, C_in] -> [B, H, W, filters]`; `g` carries an optional L2 penalty."""

    def __init__(self, filters, kernel_size=3, zero_init=False, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.zero_init = bool(zero_init)
        self.l2 = float(l2)

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        k = self.kernel_size
        self.v = self.add_weight(name="v", shape=(k, k, in_channels, self.filters),
                                 initializer=keras.initializers.HeNormal())
        self.g = self.add_weight(
            name="g", shape=(self.filters,),
            initializer="zeros" if self.zero_init else "ones",
            regularizer=keras.regularizers.L2(self.l2) if self.l2 else None)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs):
        v = tf.cast(self.v, self.compute_dtype)
        g = tf.cast(self.g, self.compute_dtype)
        kernel = v * (g * tf.math.rsqrt(tf.reduce_sum(tf.square(v), axis=[0, 1, 2]) + 1e-12))
        outputs = tf.nn.conv2d(inputs, kernel, strides=1, padding="SAME")
        return outputs + tf.cast(self.bias, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "zero_init": self.zero_init, "l2": self.l2}
