"""Extreme inputs give finite (or -inf) log-probs, never NaN; large latents decode finitely."""
import numpy as np
import tensorflow as tf

import tfnvp
from helpers import tiny_image_model


def _image_model():
    return tiny_image_model()


def test_image_log_prob_at_pixel_boundaries_is_not_nan():
    model = _image_model()
    x = tf.constant(np.stack([np.zeros((4, 4, 1)), np.full((4, 4, 1), 4 - 1e-6)]), tf.float32)
    lp = model.log_prob(x).numpy()
    assert not np.any(np.isnan(lp)), lp


def test_image_decode_of_large_latent_stays_in_range():
    model = _image_model()
    x = model.decode(tf.fill((1, 4, 4, 1), 1e3)).numpy()
    # The exact inverse of the logit map sends sigmoid in [0, 1] to
    # [-alpha L / (1 - 2 alpha), (1 - alpha) L / (1 - 2 alpha)]: finite and bounded.
    alpha, levels = 0.05, 4
    lo, hi = -alpha * levels / (1 - 2 * alpha), (1 - alpha) * levels / (1 - 2 * alpha)
    assert np.all(np.isfinite(x)) and np.all((x >= lo - 1e-5) & (x <= hi + 1e-5)), x


def test_vector_log_prob_of_huge_values_is_not_nan():
    model = tfnvp.RealNVP((2,), num_couplings=4, hidden_units=16)
    lp = model.log_prob(tf.constant([[1e6, -1e6], [-1e6, 1e6]], tf.float32)).numpy()
    assert not np.any(np.isnan(lp)), lp


def test_vector_decode_of_large_latent_is_not_nan():
    model = tfnvp.RealNVP((2,), num_couplings=4, hidden_units=16)
    x = model.decode(tf.fill((1, 2), 1e3)).numpy()
    assert not np.any(np.isnan(x)), x


