"""Numerics of trained-looking flows, in float32 and under mixed precision.

The models get random conditioner weights and batch-norm statistics (`helpers.randomized`), so
no coupling is the identity (an untrained flow's couplings are, and could not fail these tests):

    log_prob is finite at pixel values 0 and `levels - 1e-6`, finite or -inf (never NaN) for
      vectors at +-1e6;
    decode of a large latent is finite and inside `model.support`, the open interval
      `(-a L, (1-a) L) / (1-2a)` (at its float32 ends once the logistic saturates);
    under `mixed_bfloat16` the flow arithmetic stays float32 and log_prob stays within the
      rounding error bfloat16 conditioners can cause of the float32 model's with the same weights.
"""
import functools

import numpy as np
import pytest
import tensorflow as tf

import tfnvp
from helpers import (
    LEVELS,
    dequantised_pixels,
    randomized,
    tiny_image_model,
    tiny_vector_model,
    two_moons,
)

DTYPES = ["float32", "mixed_bfloat16"]
WEIGHT_SCALE = 0.3  # N(0, 0.3^2) weights: log p differs from the identity flow's by nats
BFLOAT16_UNIT_ROUNDOFF = 2.0 ** -8  # 8 significant bits, round to nearest


def _untrained(kind, dtype="float32"):
    return (tiny_image_model if kind == "image" else tiny_vector_model)(dtype=dtype)


@functools.cache
def _model(kind, dtype="float32"):
    """A trained-looking flow, built once (the tests only read it)."""
    return randomized(_untrained(kind, dtype), scale=WEIGHT_SCALE)


def _float32_support(model):
    """`model.support` widened by one float32 step each way: float32 rounds its ends outward."""
    low, high = (np.float32(end) for end in model.support)
    return np.nextafter(low, np.float32(-np.inf)), np.nextafter(high, np.float32(np.inf))


@pytest.mark.parametrize("dtype", DTYPES)
def test_image_log_prob_is_finite_at_both_ends_of_the_pixel_range(dtype):
    model = _model("image", dtype)
    low, high = np.zeros((4, 4, 1)), np.full((4, 4, 1), LEVELS - 1e-6)
    both = np.where(np.indices((4, 4, 1)).sum(0) % 2 == 0, low, high)  # a checkerboard of the two
    log_p = model.log_prob(tf.constant(np.stack([low, high, both]), tf.float32)).numpy()
    assert log_p.dtype == np.float32 and np.all(np.isfinite(log_p)), log_p


@pytest.mark.parametrize("dtype", DTYPES)
def test_image_decode_of_large_latents_is_finite_and_in_the_support(dtype):
    model = _model("image", dtype)
    low, high = model.support
    # |z| = 4 in every entry at once, beyond any sample at temperature 1: strictly inside, and
    # the density covers the point it decoded to.
    x = model.decode(tf.constant(np.stack([np.full((4, 4, 1), 4.0), np.full((4, 4, 1), -4.0)]),
                                 tf.float32)).numpy()
    assert np.all((x > low) & (x < high)), x
    assert np.all(np.isfinite(model.log_prob(x).numpy()))
    # Far beyond: float32's logistic saturates to 0 or 1, so x reaches the ends, never past them.
    huge = tf.constant(np.stack([np.full((4, 4, 1), v) for v in (1e3, -1e3, 1e6, -1e6)]),
                       tf.float32)
    x = model.decode(huge).numpy()
    low32, high32 = _float32_support(model)
    assert np.all(np.isfinite(x)) and np.all((x >= low32) & (x <= high32)), x


@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_log_prob_of_huge_values_is_tiny_and_never_nan(dtype):
    model = _model("vector", dtype)
    huge = tf.constant([[1e6, -1e6], [-1e6, 1e6], [1e6, 1e6], [-1e6, -1e6]], tf.float32)
    log_p = model.log_prob(huge).numpy()
    assert np.all(np.isfinite(log_p) | (log_p == -np.inf)), log_p
    assert np.all(log_p < model.log_prob(two_moons(64)).numpy().min()), log_p


@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_decode_of_large_latent_is_finite(dtype):
    model = _model("vector", dtype)
    x = model.decode(tf.constant([[1e3, 1e3], [-1e3, 1e3], [1e3, -1e3]], tf.float32)).numpy()
    assert np.all(np.isfinite(x)), x


def test_mixed_precision_keeps_the_flow_arithmetic_in_float32():
    model = _model("image", "mixed_bfloat16")
    x = dequantised_pixels(np.random.default_rng(0), 4)
    assert model.flow_dtype == tf.float32
    assert all(v.dtype == "float32" for v in model.weights)
    conditioner = model.conditioners[0]
    assert conditioner.compute_dtype == "bfloat16"
    s, t = conditioner(tf.zeros((1, 4, 4, 2)))  # the networks run in bfloat16, (s, t) leave in f32
    assert s.dtype == tf.float32 and t.dtype == tf.float32
    z = model.encode(x)
    outputs = [model.log_prob(x), z, model.decode(z), model.sample(2, seed=0)]
    assert all(out.dtype == tf.float32 for out in outputs)


def test_mixed_precision_model_call_is_log_prob():
    """Keras rounds a layer's inputs to its compute dtype (bfloat16) in `__call__`; the model
    does not autocast, so `model(x)` is the density at `x`, not at bf16(x)."""
    model = _model("image", "mixed_bfloat16")
    x = dequantised_pixels(np.random.default_rng(1), 4)
    np.testing.assert_allclose(model(x), model.log_prob(x), rtol=1e-6)


def _rounding_sensitivity(model, x):
    """`S(x) = sum_w |w * d log p(x) / dw|` over the trainable weights, per example `[B]`.

    Rounding every weight `w` to bfloat16 moves it by at most `u |w|`, so it moves `log p(x)` by
    at most `u S(x)` to first order; rounding an activation is a relative error of the same size
    on the weights that produced it, so the same bound holds per rounding step."""
    sensitivity = []
    for example in tf.unstack(tf.constant(x)):
        with tf.GradientTape() as tape:
            log_p = model.log_prob(example)
        grads = tape.gradient(log_p, model.trainable_variables)
        sensitivity.append(sum(float(tf.reduce_sum(tf.abs(w * g)))
                               for w, g in zip(model.trainable_variables, grads)
                               if g is not None))
    return np.array(sensitivity)


@pytest.mark.parametrize("kind", ["image", "vector"])
def test_mixed_precision_log_prob_stays_within_bfloat16_rounding_of_float32(kind):
    """|log p_mixed(x) - log p_float32(x)| <= 4 u S(x), same weights, u = 2^-8.

    A conditioner value goes through about three bfloat16 roundings (its weights, its input,
    its output), hence the 4: a first-order bound, from the weights' and activations' sizes, that
    does not depend on which bfloat16 kernels a host has (oneDNN on AVX2, AVX-512 or AMX
    accumulates bfloat16 products in float32; hosts differ in rounding order, which moves the
    error within the bound, not its size). Measured on an AMD EPYC (AVX2): at most 0.82 u S(x)
    over 18 models (weight scales 0.1 to 0.6, both kinds, 3 seeds)."""
    reference = _model(kind, "float32")
    mixed = _untrained(kind, "mixed_bfloat16")
    mixed.set_weights(reference.get_weights())  # trainable weights and batch-norm statistics
    rng = np.random.default_rng(0)
    x = dequantised_pixels(rng, 4) if kind == "image" else two_moons(8)
    if kind == "image":  # the ends of the pixel range too
        x[0], x[1] = 0.0, LEVELS - 1e-6
    expected, actual = reference.log_prob(x).numpy(), mixed.log_prob(x).numpy()
    assert np.all(np.isfinite(actual)), actual
    bound = 4 * BFLOAT16_UNIT_ROUNDOFF * _rounding_sensitivity(reference, x)
    assert np.all(np.abs(actual - expected) <= bound), (actual - expected, bound)
    # Not vacuous: on average under half of what the conditioners add to log p.
    identity = _untrained(kind).log_prob(x).numpy()
    assert bound.mean() < 0.5 * np.abs(expected - identity).mean(), (bound, expected, identity)


def test_decoding_a_far_latent_stays_strictly_inside_the_support():
    """sigmoid rounds to exactly 1 in float32 beyond ~17: the logit inverse keeps a margin, so a
    decoded point is always a point the density covers (finite log_prob), at any distance."""
    model = tfnvp.RealNVP((4, 4, 1), levels=4, num_scales=1, final_couplings=2,
                          num_res_blocks=1, num_filters=8)
    low, high = model.support
    for value in (30.0, -30.0, 1e6):
        x = model.decode(tf.fill((1, 4, 4, 1), value)).numpy()
        assert np.all((x > low) & (x < high)), (value, x.min(), x.max())
        assert np.isfinite(model.log_prob(x).numpy()).all(), value
