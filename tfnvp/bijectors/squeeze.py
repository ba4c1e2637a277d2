"""Squeeze: 2x2 space-to-depth in the ordering of Real NVP (Figure 3), log-det 0.

Each 2x2xC block of an `[H, W, C]` image becomes one `1x1x4C` pixel of an `[H/2, W/2, 4C]` image:

    y[i, j, 4*c + 2*di + dj] = x[2*i + di, 2*j + dj, c]        di, dj in {0, 1}

so for one input channel the four output channels hold the block's top-left, top-right,
bottom-left and bottom-right pixels (the numbers 1, 2, 3, 4 of Figure 3); with several input
channels each one's four sub-pixels stay together (channel-major, as `squeeze_2x2` of the original
code). A permutation: volume preserving, log-det 0.
"""
import tensorflow as tf

from tfnvp.bijectors.flow_bijector import FlowBijector

__all__ = ["Squeeze"]


class Squeeze(FlowBijector):
    """`[..., H, W, C] -> [..., H/2, W/2, 4C]`; `event_shape` (optional) is checked up front."""

    def __init__(self, event_shape=None, name="squeeze"):
        parameters = dict(locals())
        if event_shape is not None:
            _check_squeezable(tuple(int(d) for d in event_shape))
        super().__init__(event_ndims=3, parameters=parameters, name=name,
                         is_constant_jacobian=True)

    def forward_and_log_det(self, x, training=False):
        height, width, channels = x.shape[-3:]
        _check_squeezable((height, width, channels))
        batch = tf.shape(x)[:-3]
        y = tf.reshape(x, tf.concat([[-1], [height // 2, 2, width // 2, 2, channels]], 0))
        y = tf.transpose(y, [0, 1, 3, 5, 2, 4])  # [n, H/2, W/2, C, di, dj]
        y = tf.reshape(y, tf.concat([batch, [height // 2, width // 2, 4 * channels]], 0))
        return y, tf.zeros(batch, dtype=x.dtype)

    def inverse_and_log_det(self, y):
        height, width, channels = y.shape[-3:]
        if channels % 4:
            raise ValueError(f"{self.name}: the inverse needs channels divisible by 4, "
                             f"got {channels} (shape {y.shape}).")
        batch = tf.shape(y)[:-3]
        x = tf.reshape(y, tf.concat([[-1], [height, width, channels // 4, 2, 2]], 0))
        x = tf.transpose(x, [0, 1, 4, 2, 5, 3])  # [n, H/2, di, W/2, dj, C]
        x = tf.reshape(x, tf.concat([batch, [2 * height, 2 * width, channels // 4]], 0))
        return x, tf.zeros(batch, dtype=y.dtype)

    def _forward_event_shape(self, shape):
        return shape[:-3].concatenate([shape[-3] // 2, shape[-2] // 2, shape[-1] * 4])

    def _inverse_event_shape(self, shape):
        return shape[:-3].concatenate([shape[-3] * 2, shape[-2] * 2, shape[-1] // 4])

    def _forward_event_shape_tensor(self, shape):
        return tf.concat([shape[:-3], [shape[-3] // 2, shape[-2] // 2, shape[-1] * 4]], 0)

    def _inverse_event_shape_tensor(self, shape):
        return tf.concat([shape[:-3], [shape[-3] * 2, shape[-2] * 2, shape[-1] // 4]], 0)


def _check_squeezable(event_shape):
    height, width, _ = event_shape
    if height is None or width is None or height % 2 or width % 2:
        raise ValueError(f"squeeze needs an even height and width, got an image of shape "
                         f"{tuple(event_shape)} (height {height}, width {width}).")
