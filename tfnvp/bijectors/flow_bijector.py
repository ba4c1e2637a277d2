"""The base class of every tfnvp bijector, and the fused (output, log-det) pass over a flow.

TFP asks a bijector for its output and its log-det in two separate calls; for a coupling layer
that would run the conditioner network twice. Each tfnvp bijector therefore implements one fused
method per direction, the single source of truth for both its output and its log-det:

    forward_and_log_det(x, training) -> (y, log|det dy/dx|)     shape of x, batch shape
    inverse_and_log_det(y)           -> (x, log|det dx/dy|)     shape of y, batch shape

TFP's `_forward`, `_forward_log_det_jacobian`, ... are derived from them, so the bijectors work in
any TFP construct, while the model's training and scoring paths call the fused methods directly
through `forward_and_log_det` / `inverse_and_log_det` below (one conditioner call per layer).

Every tfnvp bijector reduces its log-det over the whole event itself (`event_ndims` = 1 for
vectors, 3 for images), so `forward_min_event_ndims` equals the event rank.
"""
import tensorflow as tf
import tensorflow_probability as tfp

# tfb.Chain / tfb.Invert return these base classes when their parts are not CompositeTensors
# (ours hold Keras layers), so isinstance checks must use them.
from tensorflow_probability.python.bijectors.chain import _Chain as Chain
from tensorflow_probability.python.bijectors.invert import _Invert as Invert

tfb = tfp.bijectors

__all__ = ["FlowBijector", "forward_and_log_det", "inverse_and_log_det", "reduce_event"]


class FlowBijector(tfb.Bijector):
    """A bijector defined by fused (output, log-det) methods; `training` is a call argument."""

    def __init__(self, event_ndims, parameters, name, is_constant_jacobian=False):
        if event_ndims not in (1, 3):
            raise ValueError(f"event_ndims must be 1 (vectors) or 3 (images [H, W, C]), "
                             f"got {event_ndims!r}.")
        self._event_ndims = event_ndims
        super().__init__(forward_min_event_ndims=event_ndims,
                         is_constant_jacobian=is_constant_jacobian,
                         parameters=parameters, name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        # No batch of bijectors: every parameter is a whole layer (batch shape []).
        return dict()

    @property
    def event_ndims(self):
        return self._event_ndims

    def forward_and_log_det(self, x, training=False):
        raise NotImplementedError

    def inverse_and_log_det(self, y):
        raise NotImplementedError

    def _forward(self, x, training=False):
        return self.forward_and_log_det(x, training=training)[0]

    def _forward_log_det_jacobian(self, x, training=False):
        return self.forward_and_log_det(x, training=training)[1]

    def _inverse(self, y, **kwargs):
        return self.inverse_and_log_det(y)[0]

    def _inverse_log_det_jacobian(self, y, **kwargs):
        return self.inverse_and_log_det(y)[1]


def reduce_event(values, event_ndims):
    """Sums ``values`` over its last ``event_ndims`` axes: `[..., *event] -> [...]`."""
    return tf.reduce_sum(values, axis=list(range(-event_ndims, 0)))


def forward_and_log_det(bijector, x, training=False):
    """(y, log|det dy/dx|) for a tfnvp bijector or a `tfb.Chain`/`tfb.Invert` of them."""
    if isinstance(bijector, FlowBijector):
        return bijector.forward_and_log_det(x, training=training)
    if isinstance(bijector, Invert):
        return inverse_and_log_det(bijector.bijector, x)
    if isinstance(bijector, Chain):
        total = 0.0
        for part in reversed(bijector.bijectors):  # a Chain applies its last bijector first
            x, log_det = forward_and_log_det(part, x, training=training)
            total = total + log_det
        return x, total
    raise TypeError(f"forward_and_log_det: unsupported bijector {bijector!r}; expected a tfnvp "
                    "FlowBijector, tfb.Chain or tfb.Invert.")


def inverse_and_log_det(bijector, y):
    """(x, log|det dx/dy|) for a tfnvp bijector or a `tfb.Chain`/`tfb.Invert` of them."""
    if isinstance(bijector, FlowBijector):
        return bijector.inverse_and_log_det(y)
    if isinstance(bijector, Invert):
        return forward_and_log_det(bijector.bijector, y, training=False)
    if isinstance(bijector, Chain):
        total = 0.0
        for part in bijector.bijectors:
            y, log_det = inverse_and_log_det(part, y)
            total = total + log_det
        return y, total
    raise TypeError(f"inverse_and_log_det: unsupported bijector {bijector!r}; expected a tfnvp "
                    "FlowBijector, tfb.Chain or tfb.Invert.")
