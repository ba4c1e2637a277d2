"""The base class of every tfnvp bijector: one fused pass per direction, seen by TFP as one pass.

A coupling layer's output and log-det come from the same conditioner evaluation, so each tfnvp
bijector implements one fused method per direction, the single source of truth for both:

    forward_and_log_det(x, training=False) -> (y, log|det dy/dx|)     shape of x, batch shape
    inverse_and_log_det(y)                 -> (x, log|det dx/dy|)     shape of y, batch shape

The model's training and scoring paths call these directly. TFP's public API asks for the output
and the log-det in separate calls (`forward(x)` then `forward_log_det_jacobian(x)`, or the other
way round, as `TransformedDistribution.log_prob` does); here both are answered from **one** fused
pass per input tensor and keyword arguments, through TFP's bijector cache with greedy attributes
(the mechanism TFP's own FFJORD uses). That matters beyond speed: a training-mode pass moves
batch-norm statistics, so two passes would move them twice and give a log-det of another map.

Every tfnvp bijector reduces its log-det over the whole event itself (`event_ndims` = 1 for
vectors, 3 for images), so `forward_min_event_ndims` equals the event rank. Keras 3 owns every
variable; a bijector that borrows Keras layers lists their `tf.Variable`s so that TFP and
`tf.Module` code (`dist.trainable_variables`, `tfp.math.minimize`) sees them.
"""
import tensorflow as tf
import tensorflow_probability as tfp

# TFP's cache with greedy attributes is internal API with no public equivalent; this is the one
# place tfnvp touches it. It stores the log-det a fused pass returns next to the output, under
# the same (input tensor, kwargs) key, so the LDJ methods find it instead of recomputing.
from tensorflow_probability.python.internal import cache_util

from tfnvp.keras_variables import tf_variables

tfb = tfp.bijectors

__all__ = ["FlowBijector", "reduce_event"]


class FlowBijector(tfb.Bijector):
    """A bijector defined by fused (output, log-det) methods; `training` is a call argument.

    Args:
      event_ndims: 1 (vectors `[D]`) or 3 (images `[H, W, C]`).
      parameters: the subclass's `dict(locals())` (TFP keys its cache on them with the type).
      name: unique per layer in a flow.
      layers: Keras layers the bijector borrows (conditioner networks, batch-norm state); they
        must be built. Their variables are exposed to `tf.Module` tracking.
      is_constant_jacobian: True for volume-preserving permutations.
    """

    _cache = cache_util.BijectorCacheWithGreedyAttrs(forward_name="_fused_forward",
                                                     inverse_name="_fused_inverse")

    def __init__(self, event_ndims, parameters, name, layers=(), is_constant_jacobian=False):
        if event_ndims not in (1, 3):
            raise ValueError(f"event_ndims must be 1 (vectors) or 3 (images [H, W, C]), "
                             f"got {event_ndims!r}.")
        self._event_ndims = event_ndims
        super().__init__(forward_min_event_ndims=event_ndims,
                         is_constant_jacobian=is_constant_jacobian,
                         parameters=parameters, name=name)
        # A tuple attribute, so tf.Module's variable tracking (and TFP's) walks into it.
        self._borrowed_variables = tuple(v for layer in layers for v in tf_variables(layer))
        self._latest_output = None

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

    # ------------------------------------------------------------ TFP's API, one pass per input

    def _fused_forward(self, x, training=False):
        y, log_det = self.forward_and_log_det(x, training=training)
        return y, {"ildj": -log_det}

    def _fused_inverse(self, y, **kwargs):  # the inverse is always in evaluation mode
        x, log_det = self.inverse_and_log_det(y)
        return x, {"ildj": log_det}

    def _forward(self, x, **kwargs):
        return self._cache.forward(x, **kwargs)

    def _inverse(self, y, **kwargs):
        return self._cache.inverse(y, **kwargs)

    def _forward_log_det_jacobian(self, x, **kwargs):
        # The fused pass, unless it already ran for this x. TFP's cache holds outputs weakly and
        # forgets an entry once its output is gone, so keep this output (the latest only) for a
        # `forward(x)` that may follow: it must not run (and move the statistics) again.
        self._latest_output = self._cache.forward(x, **kwargs)
        return -self._cache.forward_attributes(x, **kwargs)["ildj"]

    def _inverse_log_det_jacobian(self, y, **kwargs):
        self._latest_output = self._cache.inverse(y, **kwargs)
        return self._cache.inverse_attributes(y, **kwargs)["ildj"]


def reduce_event(values, event_ndims):
    """Sums ``values`` over its last ``event_ndims`` axes: `[..., *event] -> [...]`."""
    return tf.reduce_sum(values, axis=list(range(-event_ndims, 0)))
