"""`tfnvp.resample` / `model.resample` (redraw chosen scales of the latent code) and per-scale
temperatures in `model.sample`."""
import numpy as np
import pytest

import tfnvp
from helpers import dequantised_pixels, randomized, tiny_image_model, tiny_vector_model
from tfnvp.resampling import latent_temperature


@pytest.fixture(scope="module")
def model():
    return randomized(tiny_image_model(dtype="float64"), seed=5)


@pytest.fixture(scope="module")
def x():
    return dequantised_pixels(np.random.default_rng(2), 3).astype(np.float64)


def parts(model, x):
    return [p.numpy() for p in model.encode(x, per_scale=True)]


def test_no_scales_returns_x_itself(model, x):
    np.testing.assert_array_equal(tfnvp.resample(model, x, []).numpy(), x)
    np.testing.assert_array_equal(model.resample(x, scales=()).numpy(), x)


@pytest.mark.parametrize("redrawn, kept", [(0, 1), (1, 0)])
def test_a_redrawn_scale_changes_and_the_others_are_kept(model, x, redrawn, kept):
    before = parts(model, x)
    out = model.resample(x, scales=[redrawn], seed=3)
    after = parts(model, out)
    np.testing.assert_allclose(after[kept], before[kept], atol=1e-8)
    assert np.abs(after[redrawn] - before[redrawn]).min() > 0  # every entry redrawn
    assert not np.allclose(out.numpy(), x, atol=1e-3)


def test_the_same_seed_gives_the_same_draw_and_another_seed_another(model, x):
    first = tfnvp.resample(model, x, [0, 1], seed=7).numpy()
    np.testing.assert_array_equal(first, tfnvp.resample(model, x, [0, 1], seed=7).numpy())
    assert not np.allclose(first, tfnvp.resample(model, x, [0, 1], seed=8).numpy())


def test_temperature_scales_the_redrawn_parts(model, x):
    cold = parts(model, tfnvp.resample(model, x, [0], temperature=0.0, seed=1))
    np.testing.assert_allclose(cold[0], 0.0, atol=1e-8)  # T = 0: the prior's mode
    per_scale = parts(model, tfnvp.resample(model, x, [0, 1], temperature=[0.5, 0.0], seed=1))
    full = parts(model, tfnvp.resample(model, x, [0, 1], temperature=1.0, seed=1))
    np.testing.assert_allclose(per_scale[0], 0.5 * full[0], atol=1e-8)  # the same noise, x 0.5
    np.testing.assert_allclose(per_scale[1], 0.0, atol=1e-8)


def test_latent_temperature_puts_each_value_on_its_scale(model):
    field = latent_temperature(model, [0.25, 2.0]).numpy()
    assert field.shape == model.event_shape
    field_parts = [p.numpy() for p in model.split_latents(field[None])]
    assert np.all(field_parts[0] == 0.25) and np.all(field_parts[1] == 2.0)
    assert latent_temperature(model, 0.7).shape == ()


def test_sample_takes_one_temperature_per_scale(model):
    base = parts(model, model.sample(4, temperature=1.0, seed=2))
    mixed = parts(model, model.sample(4, temperature=[0.0, 0.5], seed=2))
    np.testing.assert_allclose(mixed[0], 0.0, atol=1e-8)
    np.testing.assert_allclose(mixed[1], 0.5 * base[1], atol=1e-8)
    np.testing.assert_allclose(model.sample(4, temperature=[0.8, 0.8], seed=2).numpy(),
                               model.sample(4, temperature=0.8, seed=2).numpy(), atol=1e-12)


def test_a_vector_flow_has_one_scale():
    model = randomized(tiny_vector_model(dtype="float64"))
    x = np.array([[0.3, -0.2], [1.0, 2.0]])
    np.testing.assert_array_equal(model.resample(x, []).numpy(), x)
    z = model.encode(model.resample(x, [0], temperature=[0.0], seed=0)).numpy()
    np.testing.assert_allclose(z, 0.0, atol=1e-8)


@pytest.mark.parametrize("kwargs, message", [
    (dict(scales=[2]), r"`scales` \[2\] names scale\(s\) \[2\]; this model has 2 scale"),
    (dict(scales=[-1]), r"names scale\(s\) \[-1\]"),
    (dict(scales=[0.5]), "`scales` must be a list of integer scale indices"),
    (dict(scales=0), "`scales` must be a list of integer scale indices"),
    (dict(scales=[0], temperature=[1.0, 1.0, 1.0]), r"`temperature` has 3 values; expected one "
                                                    r"per scale \(2, finest first\)"),
    (dict(scales=[0], temperature=-1.0), "`temperature` must be a number >= 0"),
])
def test_bad_arguments_name_the_parameter(model, x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tfnvp.resample(model, x, **kwargs)
