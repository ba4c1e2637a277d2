"""Logit preprocessing of dequantised discrete data, as a bijector of the flow (paper, sec. 4.1).

For raw values `x` in `[0, levels)` (integers plus uniform noise):

    p = alpha + (1 - 2 * alpha) * x / levels          in [alpha, 1 - alpha)
    y = logit(p) = log(p) - log(1 - p)
    log|dy/dx| = log(1 - 2 alpha) - log(levels) - log(p) - log(1 - p)     (per entry, summed)

Because this map is part of the flow, `log_prob(x)` is a density in units of the raw values and
bits/dim needs no side correction. `alpha > 0` keeps `p` away from 0 and 1 for data in range.

The map's domain, and so the support of the flow's density, is where `0 < p < 1`:

    x in ( -alpha L / (1 - 2 alpha),  (1 - alpha) L / (1 - 2 alpha) )     (wider than [0, L))

(the inverse, `x = (sigmoid(y) - alpha) L / (1 - 2 alpha)`, covers all of it). Outside it the
density is 0: the log-det is `-inf` there and the output a finite placeholder (the logit of 1/2),
so the rest of the flow stays finite and `log_prob` is `-inf`, never NaN.
"""
import numpy as np
import tensorflow as tf

from tfnvp.bijectors.flow_bijector import FlowBijector, reduce_event

__all__ = ["DEFAULT_ALPHA", "LogitPreprocessing", "check_levels"]

DEFAULT_ALPHA = 0.05


def check_levels(levels):
    """`levels` as an int after checking it is an integer >= 2 (the one home of this rule)."""
    if isinstance(levels, bool) or not float(levels).is_integer() or levels < 2:
        raise ValueError(f"`levels` must be an integer >= 2 (256 for 8-bit images), got "
                         f"{levels!r}.")
    return int(levels)


class LogitPreprocessing(FlowBijector):
    """Raw dequantised values in `[0, levels)` -> logit space; `event_ndims` 1 or 3."""

    def __init__(self, levels, event_ndims, alpha=DEFAULT_ALPHA, name="logit_preprocessing"):
        parameters = dict(locals())
        self._levels = check_levels(levels)
        if not 0.0 < alpha < 0.5:
            raise ValueError(f"`alpha` must lie in (0, 0.5), got {alpha!r}.")
        self._alpha = float(alpha)
        super().__init__(event_ndims=event_ndims, parameters=parameters, name=name)

    @property
    def levels(self):
        return self._levels

    @property
    def alpha(self):
        return self._alpha

    def forward_and_log_det(self, x, training=False):
        p = self._alpha + (1.0 - 2.0 * self._alpha) * x / self._levels
        inside = (p > 0.0) & (p < 1.0)
        p = tf.where(inside, p, tf.constant(0.5, p.dtype))  # outside: a finite placeholder
        y = tf.math.log(p) - tf.math.log1p(-p)
        const = np.log1p(-2.0 * self._alpha) - np.log(self._levels)
        log_det = tf.where(inside, const - tf.math.log(p) - tf.math.log1p(-p),
                           tf.constant(-np.inf, p.dtype))
        return y, reduce_event(log_det, self.event_ndims)

    def support(self):
        """`(low, high)`: the open interval of raw values the map (and the density) covers."""
        scale = self._levels / (1.0 - 2.0 * self._alpha)
        return -self._alpha * scale, (1.0 - self._alpha) * scale

    def inverse_and_log_det(self, y):
        # sigmoid(y) rounds to exactly 0 or 1 for |y| beyond ~17 (float32): keep p a few ulps
        # inside (0, 1), so x stays inside the support and log_prob(decode(z)) is finite.
        margin = 4.0 * np.finfo(y.dtype.as_numpy_dtype).eps
        p = tf.clip_by_value(tf.sigmoid(y), margin, 1.0 - margin)
        x = (p - self._alpha) * self._levels / (1.0 - 2.0 * self._alpha)
        const = np.log1p(-2.0 * self._alpha) - np.log(self._levels)
        # log p + log(1 - p) = -softplus(-y) - softplus(y): stable for large |y|.
        log_det = -(const + tf.math.softplus(-y) + tf.math.softplus(y))
        return x, reduce_event(log_det, self.event_ndims)
