"""Masked affine coupling layer (Dinh et al. 2017, eqs. 4-9).

    y = b * x + (1 - b) * (x * exp(s) + t),     (s, t) = conditioner([b * x, b])
    log|det dy/dx| = sum((1 - b) * s)            (summed over the event)

`b` is a binary mask (1 = kept, see `tfnvp.masks`). The conditioner sees the kept half and the
mask itself (concatenated on the last axis, so it knows which entries are blanked) and returns
`(s, t)` shaped like `x`. Both are multiplied by `1 - b` *before* use: a non-zero `s` on the kept
half would otherwise leak into the log-det (the classic bug) although it changes no output.
Inverse: `x = b * y + (1 - b) * (y - t) * exp(-s)`, with the same `(s, t)` since `b*y == b*x`.
"""
import numpy as np
import tensorflow as tf

from tfnvp.bijectors.flow_bijector import FlowBijector, reduce_event
from tfnvp.masks import validate_mask

__all__ = ["AffineCoupling"]


class AffineCoupling(FlowBijector):
    """Affine coupling for events of shape `mask.shape` (`[D]` or `[H, W, C]`).

    Args:
      mask: binary array of the event's shape; 1 marks the kept (conditioning) entries.
      conditioner: Keras layer `(inputs, training) -> (s, t)`, `inputs` = `[b*x, b]` concatenated
        on the last axis (shape `[..., 2*C]`), `s` and `t` shaped like `x`. Owned by the model;
        the bijector only borrows it (and builds it if it is not built yet).
      event_shape: optional event shape the mask must match (checked here, not at first call).
      name: unique per layer (TFP's cache keys on it together with the conditioner).
    """

    def __init__(self, mask, conditioner, event_shape=None, name="affine_coupling"):
        parameters = dict(locals())
        mask = np.asarray(mask, dtype=np.float32)
        self._mask = validate_mask(mask, mask.shape if event_shape is None else event_shape)
        self._conditioner = conditioner
        if not conditioner.built:  # its variables must exist before they can be borrowed
            inputs_shape = (1, *mask.shape[:-1], 2 * mask.shape[-1])
            conditioner(tf.zeros(inputs_shape, conditioner.compute_dtype), training=False)
        super().__init__(event_ndims=mask.ndim, parameters=parameters, name=name,
                         layers=[conditioner])

    @property
    def mask(self):
        return self._mask

    @property
    def conditioner(self):
        return self._conditioner

    def _check_event(self, x):
        event = tuple(x.shape[-self.event_ndims:])
        if None not in event and event != self._mask.shape:
            raise ValueError(f"{self.name}: input event shape {event} does not match the mask's "
                             f"{self._mask.shape}.")

    def _masked_scale_and_shift(self, kept, training):
        """(s, t) shaped like `kept`, zeroed on the kept entries."""
        b = tf.constant(self._mask, dtype=kept.dtype)
        shape = tf.shape(kept)
        # Networks take one batch axis: flatten any leading shape, restore it afterwards.
        flat = tf.reshape(kept, tf.concat([[-1], self._mask.shape], axis=0))
        b_batch = tf.broadcast_to(b, tf.shape(flat))
        s, t = self._conditioner(tf.concat([flat * b, b_batch], axis=-1), training=training)
        s = (1.0 - b) * tf.reshape(tf.cast(s, kept.dtype), shape)
        t = (1.0 - b) * tf.reshape(tf.cast(t, kept.dtype), shape)
        return s, t

    def forward_and_log_det(self, x, training=False):
        self._check_event(x)
        s, t = self._masked_scale_and_shift(x, training)
        # On kept entries s = t = 0, so this equals b*x + (1-b)*(x*exp(s) + t) exactly.
        y = x * tf.exp(s) + t
        return y, reduce_event(s, self.event_ndims)

    def inverse_and_log_det(self, y):
        self._check_event(y)
        s, t = self._masked_scale_and_shift(y, training=False)
        x = (y - t) * tf.exp(-s)
        return x, -reduce_event(s, self.event_ndims)
