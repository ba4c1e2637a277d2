"""`tfnvp.interpolate` and `tfnvp.manifold`: latent paths decoded back to data."""
import numpy as np
import pytest

import tfnvp
from helpers import dequantised_pixels, randomized, tiny_image_model, tiny_vector_model


@pytest.fixture(scope="module")
def model():
    return randomized(tiny_image_model(dtype="float64"), seed=3)


@pytest.fixture(scope="module")
def x():
    return dequantised_pixels(np.random.default_rng(1), 4).astype(np.float64)


@pytest.mark.parametrize("path", ["spherical", "linear"])
def test_the_endpoints_decode_to_the_inputs(model, x, path):
    result = tfnvp.interpolate(model, x[0], x[1], num=5, path=path).numpy()
    assert result.shape == (5, 4, 4, 1)
    np.testing.assert_allclose(result[0], x[0], atol=1e-9)
    np.testing.assert_allclose(result[-1], x[1], atol=1e-9)
    assert np.abs(result[2] - x[0]).max() > 0.1 and np.abs(result[2] - x[1]).max() > 0.1


def test_the_paths_follow_their_formulas_in_latent_space(model, x):
    z_a, z_b = (model.encode(x[i:i + 1]).numpy()[0] for i in (0, 1))
    t = np.linspace(0, 1, 5)
    linear = model.encode(tfnvp.interpolate(model, x[0], x[1], num=5, path="linear")).numpy()
    np.testing.assert_allclose(linear, [(1 - s) * z_a + s * z_b for s in t], atol=1e-8)
    omega = np.arccos(np.sum(z_a * z_b) / (np.linalg.norm(z_a) * np.linalg.norm(z_b)))
    slerp = [(np.sin((1 - s) * omega) * z_a + np.sin(s * omega) * z_b) / np.sin(omega)
             for s in t]
    spherical = model.encode(tfnvp.interpolate(model, x[0], x[1], num=5)).numpy()
    np.testing.assert_allclose(spherical, slerp, atol=1e-8)
    assert not np.allclose(spherical, linear, atol=1e-3)


def test_identical_endpoints_give_a_constant_path(model, x):
    result = tfnvp.interpolate(model, x[2], x[2], num=3).numpy()  # slerp's 0/0 case
    np.testing.assert_allclose(result, np.stack([x[2]] * 3), atol=1e-9)


def test_the_manifold_has_the_four_examples_at_its_corners(model, x):
    grid = tfnvp.manifold(model, x[0], x[1], x[2], x[3], grid=3).numpy()
    assert grid.shape == (3, 3, 4, 4, 1)
    for (i, j), k in {(0, 0): 0, (0, 2): 1, (2, 0): 2, (2, 2): 3}.items():
        np.testing.assert_allclose(grid[i, j], x[k], atol=1e-9)
    z = model.encode(x).numpy()
    u = v = np.pi / 4  # the centre of the grid
    centre = (np.cos(u) * (np.cos(v) * z[0] + np.sin(v) * z[1])
              + np.sin(u) * (np.cos(v) * z[2] + np.sin(v) * z[3]))
    np.testing.assert_allclose(model.encode(grid[1, 1][None]).numpy()[0], centre, atol=1e-8)


def test_vectors_and_batched_single_examples_work():
    model = randomized(tiny_vector_model(dtype="float64"))
    a, b = np.array([[0.5, -1.0]]), np.array([1.5, 2.0])  # [1, D] and [D]
    result = tfnvp.interpolate(model, a, b, num=4).numpy()
    assert result.shape == (4, 2)
    np.testing.assert_allclose(result[[0, -1]], [a[0], b], atol=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda m, x: tfnvp.interpolate(m, x[0], x[1], num=1), "`num` must be an integer >= 2"),
    (lambda m, x: tfnvp.interpolate(m, x[0], x[1], path="cubic"), "`path` must be one of"),
    (lambda m, x: tfnvp.interpolate(m, x[:2], x[1]), "`x_a` must be one example"),
    (lambda m, x: tfnvp.manifold(m, *x, grid=1), "`grid` must be an integer >= 2"),
])
def test_bad_arguments_name_the_parameter(model, x, call, message):
    with pytest.raises(ValueError, match=message):
        call(model, x)
