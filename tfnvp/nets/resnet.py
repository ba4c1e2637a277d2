"""The paper's ResNet conditioner for image couplings (Dinh et al. 2017, sec. 4.1).

    inputs [B, H, W, 2C] = concat(b * x, b)
      -> WN-conv3x3(F)
      -> num_blocks x [BN -> ReLU -> WN-conv3x3(F) -> BN -> ReLU -> dropout -> WN-conv3x3(F)]
         + skip
      -> BN -> ReLU -> WN-conv3x3(2C, zero-initialised)        (identity coupling at start)
      -> ScaleAndShift: s = scale * tanh(raw_s), t             each [B, H, W, C]

BN here is ordinary Keras batch norm inside s/t (it needs no inverse), synchronised: under
`tf.distribute` its training statistics are the global batch's, as the flow's own batch norm; WN is
weight norm. Its `momentum` sets how fast the moving statistics that evaluation uses follow the
training batches (Keras' default 0.99 lags about 100 steps; see `RealNVP`'s
`net_batch_norm_momentum`). Dropout (rate `dropout`, training only; none by default) sits where
PixelCNN++ puts it, before each block's second convolution: it regularises small image sets.
"""
import numbers

import keras

from tfnvp.nets.flow_batch_norm_statistics import check_momentum
from tfnvp.nets.scale_and_shift import ScaleAndShift
from tfnvp.nets.weight_norm_conv import WeightNormConv2D

__all__ = ["ResNetConditioner", "ResidualBlock", "check_dropout"]


def check_dropout(rate):
    """`rate` as a float in [0, 1): the share of a block's features dropped in training."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(f"dropout must be a rate in [0, 1), got {rate!r}.")
    return float(rate)


def batch_norm(momentum, dtype, name):
    """Synchronised Keras batch norm (global-batch statistics under `tf.distribute`)."""
    return keras.layers.BatchNormalization(momentum=check_momentum(momentum), synchronized=True,
                                           dtype=dtype, name=name)


@keras.saving.register_keras_serializable("tfnvp")
class ResidualBlock(keras.layers.Layer):
    """Pre-activation block: `x + conv(dropout(relu(bn(conv(relu(bn(x)))))))`, width `filters`."""

    def __init__(self, filters, l2=0.0, momentum=0.99, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.l2 = float(l2)
        self.momentum = float(momentum)
        self.dropout = check_dropout(dropout)
        self.drop = (keras.layers.Dropout(self.dropout, dtype=self.dtype_policy, name="dropout")
                     if self.dropout else None)
        self.norm1 = batch_norm(momentum, self.dtype_policy, "bn1")
        self.conv1 = WeightNormConv2D(filters, l2=l2, dtype=self.dtype_policy, name="conv1")
        self.norm2 = batch_norm(momentum, self.dtype_policy, "bn2")
        self.conv2 = WeightNormConv2D(filters, l2=l2, dtype=self.dtype_policy, name="conv2")

    def build(self, input_shape):
        # Every weight from the shape alone (a deserialised layer is built before any call).
        inner = (*input_shape[:-1], self.filters)
        self.norm1.build(input_shape)
        self.conv1.build(input_shape)
        self.norm2.build(inner)
        self.conv2.build(inner)

    def call(self, x, training=None):
        h = self.conv1(keras.ops.relu(self.norm1(x, training=training)))
        h = keras.ops.relu(self.norm2(h, training=training))
        if self.drop is not None:
            h = self.drop(h, training=training)
        return x + self.conv2(h)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "l2": self.l2,
                "momentum": self.momentum, "dropout": self.dropout}


@keras.saving.register_keras_serializable("tfnvp")
class ResNetConditioner(keras.layers.Layer):
    """`concat(b*x, b)` `[B, H, W, 2C]` -> `(s, t)`, each `[B, H, W, C]`."""

    def __init__(self, channels, filters, num_blocks, l2=0.0, momentum=0.99, dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.filters = int(filters)
        self.num_blocks = int(num_blocks)
        self.l2 = float(l2)
        self.momentum = float(momentum)
        self.dropout = check_dropout(dropout)
        policy = self.dtype_policy
        self.input_conv = WeightNormConv2D(filters, l2=l2, dtype=policy, name="input_conv")
        self.blocks = [ResidualBlock(filters, l2=l2, momentum=momentum, dropout=dropout,
                                     dtype=policy, name=f"block{i}") for i in range(num_blocks)]
        self.output_norm = batch_norm(momentum, policy, "output_bn")
        self.output_conv = WeightNormConv2D(2 * channels, zero_init=True, l2=l2, dtype=policy,
                                            name="output_conv")
        self.head = ScaleAndShift(l2=l2, dtype=policy, name="scale_and_shift")

    def build(self, input_shape):
        # Every weight from the shape alone (a deserialised layer is built before any call).
        inner = (*input_shape[:-1], self.filters)
        self.input_conv.build(input_shape)
        for block in self.blocks:
            block.build(inner)
        self.output_norm.build(inner)
        self.output_conv.build(inner)
        self.head.build((*input_shape[:-1], 2 * self.channels))

    def call(self, inputs, training=None):
        h = self.input_conv(inputs)
        for block in self.blocks:
            h = block(h, training=training)
        h = keras.ops.relu(self.output_norm(h, training=training))
        return self.head(self.output_conv(h))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "filters": self.filters,
                "num_blocks": self.num_blocks, "l2": self.l2, "momentum": self.momentum,
                "dropout": self.dropout}
