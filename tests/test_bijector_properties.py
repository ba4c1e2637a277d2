"""Property-based tests (hypothesis): invertibility and log-det agreement over random parameters.

So far LogitPreprocessing only; the other bijectors are still to be covered.
"""
import numpy as np
import tensorflow as tf
from hypothesis import given, settings, strategies as st

from tfnvp.bijectors.logit import LogitPreprocessing


@settings(max_examples=25, deadline=None)
@given(levels=st.integers(2, 256), alpha=st.floats(1e-3, 0.45),
       batch=st.integers(1, 3), dim=st.integers(1, 5), seed=st.integers(0, 2**31 - 1))
def test_logit_preprocessing_round_trip_and_log_det(levels, alpha, batch, dim, seed):
    bij = LogitPreprocessing(levels, event_ndims=1, alpha=alpha)
    x = tf.constant(np.random.default_rng(seed).uniform(0, levels, (batch, dim)), tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y, fldj = bij.forward_and_log_det(x)
    x_back, ildj = bij.inverse_and_log_det(y)
    np.testing.assert_allclose(x_back, x, rtol=1e-6, atol=1e-6 * levels)
    np.testing.assert_allclose(fldj, -ildj, rtol=1e-8, atol=1e-8)
    # Elementwise map: the Jacobian is diagonal, its log-det the sum of log dy_i/dx_i.
    diag = tape.gradient(y, x)
    np.testing.assert_allclose(fldj, tf.reduce_sum(tf.math.log(tf.abs(diag)), -1), rtol=1e-8)
