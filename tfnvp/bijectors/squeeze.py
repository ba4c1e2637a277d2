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

__all__ = ["Squeeze", "Unsqueeze"]


class Squeeze(FlowBijector):
    """`[..., H, W, C] -> [..., H/2, W/2, 4C]`; `event_shape` (optional) is checked up front."""

    def __init__(self, event_shape=None, name="squeeze"):
        parameters = dict(locals())
        if event_shape is not None:
            _check_squeezable(tuple(int(d) for d in event_shape))
        super().__init__(event_ndims=3, parameters=parameters, name=name,
                         is_constant_jacobian=True)

    def forward_and_log_det(self, x, training=False):
        _check_squeezable(x.shape[-3:])
        height, width, channels = _event_dims(x)
        batch = tf.shape(x)[:-3]
        y = tf.reshape(x, tf.concat([[-1], [height // 2, 2, width // 2, 2, channels]], 0))
        y = tf.transpose(y, [0, 1, 3, 5, 2, 4])  # [n, H/2, W/2, C, di, dj]
        y = tf.reshape(y, tf.concat([batch, [height // 2, width // 2, 4 * channels]], 0))
        return y, tf.zeros(batch, dtype=x.dtype)

    def inverse_and_log_det(self, y):
        if y.shape[-1] is not None and y.shape[-1] % 4:
            raise ValueError(f"{self.name}: the inverse needs channels divisible by 4, "
                             f"got {y.shape[-1]} (shape {y.shape}).")
        height, width, channels = _event_dims(y)
        batch = tf.shape(y)[:-3]
        x = tf.reshape(y, tf.concat([[-1], [height, width, channels // 4, 2, 2]], 0))
        x = tf.transpose(x, [0, 1, 4, 2, 5, 3])  # [n, H/2, di, W/2, dj, C]
        x = tf.reshape(x, tf.concat([batch, [2 * height, 2 * width, channels // 4]], 0))
        return x, tf.zeros(batch, dtype=y.dtype)

    def _forward_event_shape(self, shape):
        return _squeezed_shape(shape)

    def _inverse_event_shape(self, shape):
        return _unsqueezed_shape(shape)

    def _forward_event_shape_tensor(self, shape):
        return tf.concat([shape[:-3], [shape[-3] // 2, shape[-2] // 2, shape[-1] * 4]], 0)

    def _inverse_event_shape_tensor(self, shape):
        return tf.concat([shape[:-3], [shape[-3] * 2, shape[-2] * 2, shape[-1] // 4]], 0)


class Unsqueeze(Squeeze):
    """The inverse permutation, `[..., H, W, C] -> [..., 2H, 2W, C/4]`: it puts each scale's
    latent back into the layout of `x`, so the flow's `z` has the shape of `x`."""

    def __init__(self, name="unsqueeze"):
        super().__init__(name=name)

    def forward_and_log_det(self, x, training=False):
        return super().inverse_and_log_det(x)

    def inverse_and_log_det(self, y):
        return super().forward_and_log_det(y)

    def _forward_event_shape(self, shape):
        return _unsqueezed_shape(shape)

    def _inverse_event_shape(self, shape):
        return _squeezed_shape(shape)

    def _forward_event_shape_tensor(self, shape):
        return super()._inverse_event_shape_tensor(shape)

    def _inverse_event_shape_tensor(self, shape):
        return super()._forward_event_shape_tensor(shape)


def _event_dims(x):
    """`(H, W, C)` of `x` `[..., H, W, C]`: Python ints where static, scalar tensors where not."""
    dynamic = tf.shape(x)[-3:]
    return tuple(d if d is not None else dynamic[i] for i, d in enumerate(x.shape[-3:]))


def _known(fn, dim):
    """`fn(dim)` for a static dimension that may be unknown (None stays None)."""
    return None if dim is None else fn(dim)


def _squeezed_shape(shape):
    """Static `[..., H, W, C] -> [..., H/2, W/2, 4C]`; unknown dimensions stay unknown."""
    shape = tf.TensorShape(shape)
    if shape.rank is None:
        return shape
    height, width, channels = shape[-3:].as_list()
    half, times_four = (lambda d: d // 2), (lambda d: 4 * d)
    return shape[:-3].concatenate([_known(half, height), _known(half, width),
                                   _known(times_four, channels)])


def _unsqueezed_shape(shape):
    """Static `[..., H, W, C] -> [..., 2H, 2W, C/4]`; unknown dimensions stay unknown."""
    shape = tf.TensorShape(shape)
    if shape.rank is None:
        return shape
    height, width, channels = shape[-3:].as_list()
    double, quarter = (lambda d: 2 * d), (lambda d: d // 4)
    return shape[:-3].concatenate([_known(double, height), _known(double, width),
                                   _known(quarter, channels)])


def _check_squeezable(event_shape):
    """Even height and width where they are known statically (unknown ones are not checked)."""
    height, width, _ = event_shape
    if (height is not None and height % 2) or (width is not None and width % 2):
        raise ValueError(f"squeeze needs an even height and width, got an image of shape "
                         f"{tuple(event_shape)} (height {height}, width {width}).")
