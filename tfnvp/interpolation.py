"""Paths through the latent space between examples, decoded back to data (paper, figure 6).

With `z = f(x)` (the whole latent, every scale) and `t` in `[0, 1]`:

    linear:     z(t) = (1 - t) z_a + t z_b
    spherical:  z(t) = sin((1 - t) w) / sin(w) z_a + sin(t w) / sin(w) z_b,
                w = angle between z_a and z_b      (slerp: keeps |z| typical of N(0, I))
    manifold:   z(u, v) = cos(u) (cos(v) z_1 + sin(v) z_2) + sin(u) (cos(v) z_3 + sin(v) z_4),
                u, v in [0, pi/2]                  (the paper's figure: corners z_1 .. z_4)

and each point is decoded, `x = f^{-1}(z)`. The endpoints decode to the inputs (exact inverse).
"""
import math

import numpy as np
import tensorflow as tf

__all__ = ["interpolate", "manifold"]

PATHS = ("spherical", "linear")


def interpolate(model, x_a, x_b, num=8, path="spherical"):
    """`num` examples from `x_a` to `x_b` (both included) along `path` -> `[num, *event]`.

    `x_a`, `x_b`: one example each, shaped `[*event]` (or `[1, *event]`)."""
    num = _check_count("num", num, minimum=2)
    if path not in PATHS:
        raise ValueError(f"`path` must be one of {', '.join(PATHS)}, got {path!r}.")
    z_a, z_b = (_latent_of_one(model, x, name) for x, name in ((x_a, "x_a"), (x_b, "x_b")))
    t = tf.linspace(tf.constant(0.0, z_a.dtype), 1.0, num)
    if path == "linear":
        weights = tf.stack([1.0 - t, t], axis=1)
    else:
        weights = _slerp_weights(z_a, z_b, t)
    return _decode_combinations(model, weights, tf.stack([z_a, z_b]))


def manifold(model, x1, x2, x3, x4, grid=8):
    """The paper's 2-D latent manifold through four examples -> `[grid, grid, *event]`.

    Entry `[i, j]` decodes `z(u_i, v_j)` with `u_i, v_j = (pi/2) i/(grid-1), (pi/2) j/(grid-1)`:
    row 0 runs from `x1` to `x2`, the last row from `x3` to `x4`."""
    grid = _check_count("grid", grid, minimum=2)
    zs = tf.stack([_latent_of_one(model, x, f"x{k}") for k, x in enumerate((x1, x2, x3, x4), 1)])
    angles = tf.linspace(tf.constant(0.0, zs.dtype), math.pi / 2, grid)
    u, v = (tf.reshape(a, [-1]) for a in tf.meshgrid(angles, angles, indexing="ij"))
    weights = tf.stack([tf.cos(u) * tf.cos(v), tf.cos(u) * tf.sin(v),
                        tf.sin(u) * tf.cos(v), tf.sin(u) * tf.sin(v)], axis=1)
    x = _decode_combinations(model, weights, zs)
    return tf.reshape(x, [grid, grid, *model.event_shape])


def _slerp_weights(z_a, z_b, t):
    """`[num, 2]` slerp weights; nearly parallel latents fall back to the linear ones."""
    a, b = tf.reshape(z_a, [-1]), tf.reshape(z_b, [-1])
    cosine = tf.reduce_sum(a * b) / (tf.norm(a) * tf.norm(b))
    omega = tf.acos(tf.clip_by_value(cosine, -1.0, 1.0))
    linear = tf.stack([1.0 - t, t], axis=1)
    if float(tf.sin(omega)) < 1e-6:  # sin(w) ~ 0: the slerp formula is 0/0, its limit is linear
        return linear
    return tf.stack([tf.sin((1.0 - t) * omega), tf.sin(t * omega)], axis=1) / tf.sin(omega)


def _decode_combinations(model, weights, latents):
    """`x = f^{-1}(sum_k weights[:, k] latents[k])` -> `[len(weights), *event]`."""
    z = tf.tensordot(weights, latents, axes=[[1], [0]])
    return model.decode(z)


def _latent_of_one(model, x, name):
    x = model.check_input(x if _has_batch_axis(model, x) else tf.expand_dims(x, 0), name=name)
    if x.shape.rank != len(model.event_shape) + 1 or x.shape[0] != 1:
        raise ValueError(f"`{name}` must be one example shaped {model.event_shape} (or [1, "
                         f"...]), got shape {tuple(x.shape)}.")
    return model.encode(x)[0]


def _has_batch_axis(model, x):
    return np.ndim(x) > len(model.event_shape)


def _check_count(name, value, minimum):
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)
