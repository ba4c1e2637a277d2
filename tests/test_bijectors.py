"""Properties every tfnvp bijector must have, driven by `bijector_registry.REGISTRY` (float64)."""
import numpy as np
import pytest
import tensorflow as tf

from bijector_registry import REGISTRY
from helpers import autodiff_log_det


def _event_ndims(bijector):
    return bijector.forward_min_event_ndims


@pytest.fixture(params=sorted(REGISTRY), scope="module")
def case(request):
    return REGISTRY[request.param]()


def test_round_trip_through_tfp_api_with_cache_broken(case):
    bijector, x = case
    y = bijector.forward(x)
    x_back = bijector.inverse(tf.identity(y))  # tf.identity: a new tensor, no cache hit
    np.testing.assert_allclose(x_back.numpy(), x.numpy(), rtol=1e-6, atol=1e-9)
    y_again = bijector.forward(tf.identity(x_back))
    np.testing.assert_allclose(y_again.numpy(), y.numpy(), rtol=1e-6, atol=1e-9)


def test_forward_log_det_equals_autodiff_jacobian(case):
    bijector, x = case
    n = _event_ndims(bijector)
    expected = autodiff_log_det(lambda t: bijector.forward_and_log_det(t)[0], x, n)
    actual = bijector.forward_log_det_jacobian(x, event_ndims=n).numpy()
    np.testing.assert_allclose(np.broadcast_to(actual, expected.shape), expected,
                               rtol=1e-6, atol=1e-8)


def test_inverse_log_det_equals_autodiff_jacobian(case):
    bijector, x = case
    n = _event_ndims(bijector)
    y = tf.identity(bijector.forward(x))
    expected = autodiff_log_det(lambda t: bijector.inverse_and_log_det(t)[0], y, n)
    actual = bijector.inverse_log_det_jacobian(y, event_ndims=n).numpy()
    np.testing.assert_allclose(np.broadcast_to(actual, expected.shape), expected,
                               rtol=1e-6, atol=1e-8)


def test_fldj_is_minus_ildj_of_the_output(case):
    bijector, x = case
    n = _event_ndims(bijector)
    fldj = bijector.forward_log_det_jacobian(x, event_ndims=n)
    ildj = bijector.inverse_log_det_jacobian(tf.identity(bijector.forward(x)), event_ndims=n)
    np.testing.assert_allclose(np.broadcast_to(fldj.numpy(), x.shape[:-n]),
                               np.broadcast_to(-ildj.numpy(), x.shape[:-n]), rtol=1e-6, atol=1e-9)


def test_fused_methods_agree_with_tfp_methods(case):
    bijector, x = case
    n = _event_ndims(bijector)
    y, log_det = bijector.forward_and_log_det(x)
    np.testing.assert_allclose(y.numpy(), bijector.forward(tf.identity(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        np.broadcast_to(log_det.numpy(), x.shape[:-n]),
        np.broadcast_to(bijector.forward_log_det_jacobian(tf.identity(x), n).numpy(),
                        x.shape[:-n]), rtol=1e-12)


def test_shapes_and_dtypes(case):
    bijector, x = case
    n = _event_ndims(bijector)
    y, log_det = bijector.forward_and_log_det(x)
    assert y.dtype == tf.float64 and log_det.dtype == tf.float64
    assert tuple(y.shape) == tuple(bijector.forward_event_shape(x.shape))
    assert tuple(y.shape[:-n]) == tuple(x.shape[:-n])
    assert tuple(log_det.shape) == tuple(x.shape[:-n])
    assert int(np.prod(y.shape)) == int(np.prod(x.shape))
    x_back, inverse_log_det = bijector.inverse_and_log_det(y)
    assert tuple(x_back.shape) == tuple(x.shape)
    assert tuple(inverse_log_det.shape) == tuple(x.shape[:-n])


def test_tfp_cache_does_not_mix_up_equal_couplings():
    # Same mask and type, different networks: outputs must differ despite TFP's cache.
    a, x = REGISTRY["coupling_checkerboard_even"]()
    b, _ = REGISTRY["coupling_checkerboard_odd"]()
    same_mask_b = type(a)(a.mask, b.conditioner, name="same_mask_other_net")
    ya = a.forward(x)
    yb = same_mask_b.forward(x)
    assert not np.allclose(ya.numpy(), yb.numpy())
    np.testing.assert_allclose(same_mask_b.inverse(yb).numpy(), x.numpy(), rtol=1e-6)
