"""Redraw chosen scales of an example's latent code, keep the others (paper, section 4.2).

With `z = f(x)` split per scale as `encode(x, per_scale=True)` does (0 = finest):

    z'_i = T_i * eps_i,  eps_i ~ N(0, I)     for the scales i being redrawn
    z'_j = z_j                               for the others
    x'   = f^{-1}(z')

Redrawing the finest scale keeps the coarse structure of `x` and changes its details; redrawing
the coarsest keeps the local texture. `temperature` is one number or one per scale; the same rule
gives `RealNVP.sample` its per-scale temperatures.
"""
import numpy as np
import tensorflow as tf

from tfnvp.seeds import stateless_seed

__all__ = ["latent_temperature", "resample", "scale_count"]


def scale_count(model):
    """How many parts `model.encode(x, per_scale=True)` returns (1 for a vector flow)."""
    return model.num_scales if model.is_image else 1


def resample(model, x, scales=(), temperature=1.0, seed=None):
    """`x` `[B, *event]` with the latent parts of `scales` redrawn -> `[B, *event]`.

    Args:
      scales: scale indices to redraw, 0 = finest (as in `encode(x, per_scale=True)`); none
        returns `x` itself.
      temperature: prior standard deviation of the redrawn parts, a number or a list with one
        per scale (finest first; only the redrawn scales' entries matter).
      seed: an int or a pair for reproducible draws; None draws fresh ones.
    """
    x = model.check_input(x)
    redraw = _check_scales(model, scales)
    if not redraw:
        return x
    z = model.encode(x)
    noise = tf.random.stateless_normal(tf.shape(z), stateless_seed(seed), dtype=z.dtype)
    noise *= latent_temperature(model, temperature)
    chosen = _per_scale_field(model, [i in redraw for i in range(scale_count(model))], tf.bool)
    return model.decode(tf.where(chosen, noise, z))


def latent_temperature(model, temperature):
    """`temperature` -> the factor that scales a prior draw `z ~ N(0, I)`.

    A number gives a scalar tensor; a list (one per scale, finest first) gives a `[*event]`
    tensor holding `T_i` on the entries of scale `i`."""
    dtype = model.flow_dtype
    if tf.is_tensor(temperature) and temperature.shape.rank == 0:
        return tf.cast(temperature, dtype)
    values = np.asarray(temperature, np.float64)
    if values.ndim > 1 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"`temperature` must be a number >= 0 or a list of them (one per "
                         f"scale), got {temperature!r}.")
    if values.ndim == 0:
        return tf.constant(values, dtype)
    if len(values) != scale_count(model):
        raise ValueError(f"`temperature` has {len(values)} values; expected one per scale "
                         f"({scale_count(model)}, finest first) or a single number.")
    return _per_scale_field(model, values, dtype)


def _per_scale_field(model, values, dtype):
    """`[*event]` tensor equal to `values[i]` on the latent entries of scale `i`."""
    shape = (1, *model.event_shape)
    parts = model.split_latents(tf.zeros(shape, model.flow_dtype))
    field = model.merge_latents([tf.fill(tf.shape(p), tf.constant(float(v), p.dtype))
                                 for p, v in zip(parts, values)])
    return tf.cast(field[0], dtype)


def _check_scales(model, scales):
    count = scale_count(model)
    sequences = (list, tuple, set, frozenset, range, np.ndarray)
    values = list(scales) if isinstance(scales, sequences) else None
    if values is None or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                                 for i in values):
        raise ValueError(f"`scales` must be a list of integer scale indices, got {scales!r}.")
    bad = sorted({int(i) for i in values if not 0 <= i < count})
    if bad:
        raise ValueError(f"`scales` {list(values)} names scale(s) {bad}; this model has "
                         f"{count} scale(s), indices 0..{count - 1} (0 = finest).")
    return {int(i) for i in values}
