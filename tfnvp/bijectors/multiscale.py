"""Multi-scale factor-out (Dinh et al. 2017, section 3.6, eq. 17).

`FactorOut(inner)` on an `[H, W, C]` tensor sends the first `C/2` channels straight to the latent
and the last `C/2` through the rest of the flow, `inner`:

    y = concat(x[..., :C/2], inner(x[..., C/2:]))          log|det| = log|det d inner|

Nesting scales as `FlowChain([..., Squeeze, couplings, FactorOut(next scale), Unsqueeze])` gives
a latent `z` with the same shape as `x`, each scale's factored-out part in place;
`split_latents` / `merge_latents` convert between that `z` and the list of per-scale parts.
"""
import tensorflow as tf

from tfnvp.bijectors.flow_bijector import FlowBijector

__all__ = ["FactorOut", "split_latents", "merge_latents"]


class FactorOut(FlowBijector):
    """Identity on the first half of the channels, `inner` (a tfnvp bijector on `[H, W, C/2]`)
    on the rest."""

    def __init__(self, inner, name="factor_out"):
        parameters = dict(locals())
        self._inner = inner
        super().__init__(event_ndims=3, parameters=parameters, name=name)

    @property
    def inner(self):
        return self._inner

    @staticmethod
    def _halves(x):
        channels = x.shape[-1]
        if channels is not None and channels % 2:
            raise ValueError(f"factor-out needs an even number of channels, got shape {x.shape}.")
        half = tf.shape(x)[-1] // 2 if channels is None else channels // 2
        return x[..., :half], x[..., half:]

    def forward_and_log_det(self, x, training=False):
        out, rest = self._halves(x)
        rest, log_det = self._inner.forward_and_log_det(rest, training=training)
        return tf.concat([out, rest], axis=-1), log_det

    def inverse_and_log_det(self, y):
        out, rest = self._halves(y)
        rest, log_det = self._inner.inverse_and_log_det(rest)
        return tf.concat([out, rest], axis=-1), log_det


def split_latents(z, num_scales, squeeze):
    """`z` `[..., H, W, C]` -> per-scale parts, finest first: `[..., H/2^i, W/2^i, 2^i C]` each.

    Part `i < num_scales - 1` is what scale `i` factored out; the last part is the final scale's
    output. `squeeze` is the `Squeeze` bijector the flow uses (one ordering, one source of truth).
    """
    parts = []
    for _ in range(num_scales - 1):
        z = squeeze.forward_and_log_det(z)[0]
        out, z = FactorOut._halves(z)
        parts.append(out)
    parts.append(z)
    return parts


def merge_latents(parts, squeeze):
    """Inverse of `split_latents`: per-scale parts, finest first -> `z` shaped like `x`."""
    z = parts[-1]
    for out in reversed(parts[:-1]):
        z = squeeze.inverse_and_log_det(tf.concat([out, z], axis=-1))[0]
    return z
