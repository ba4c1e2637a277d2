"""`tfnvp.complete` / `model.complete`: fill unknown entries (map, sample, mean)."""
import keras
import numpy as np
import pytest

import tfnvp
from helpers import LEVELS, dequantised_pixels, randomized, tiny_image_model, tiny_vector_model


@pytest.fixture(scope="module")
def trained():
    """A tiny image flow after a few `fit` steps on images with structure (vertical stripes of
    one level per image), and held-out images of the same kind, bottom half hidden."""
    rng = np.random.default_rng(0)

    def stripes(n):
        levels = rng.integers(0, LEVELS, (n, 1, 4, 1))
        return (np.broadcast_to(levels, (n, 4, 4, 1)) + rng.uniform(size=(n, 4, 4, 1))).astype(
            np.float32)

    keras.utils.set_random_seed(0)
    model = tiny_image_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(stripes(192), batch_size=64, epochs=4, verbose=0)
    x = stripes(6)
    observed = np.ones(x.shape, bool)
    observed[:, 2:] = False
    return model, x, observed


# Every MCMC call below uses 2 chains for each of 4 inputs a pass: one graph serves them all.
CHAINS = dict(samples=2, batch_size=4)


def test_observed_entries_come_back_bit_identical(trained):
    model, x, observed = trained
    results = {"map": tfnvp.complete(model, x, observed, "map", steps=5).numpy(),
               "mean": tfnvp.complete(model, x, observed, "mean", steps=4, seed=0,
                                      **CHAINS).numpy(),
               "sample": tfnvp.complete(model, x, observed, "sample", steps=4, seed=0,
                                        **CHAINS).numpy()}
    assert results["map"].shape == results["mean"].shape == x.shape
    assert results["sample"].shape == (6, 2, 4, 4, 1)
    for method, completed in results.items():
        completed = completed if method != "sample" else completed[:, 1]
        np.testing.assert_array_equal(completed[observed], x[observed])
        hidden = completed[~observed]
        assert np.all((hidden > 0) & (hidden < LEVELS)), method  # inside the data's range
        assert np.abs(hidden - x[~observed]).max() > 0  # something was filled in


def test_map_raises_log_p_over_its_iterations(trained):
    model, x, observed = trained
    log_p = [float(np.mean(model.log_prob(tfnvp.complete(model, x, observed, "map",
                                                         steps=steps))))
             for steps in (0, 10, 60)]
    assert log_p[0] < log_p[1] < log_p[2], log_p
    assert log_p[2] - log_p[0] > 0.1, log_p  # nats: a climb, not rounding


def test_mcmc_completions_differ_by_seed_and_repeat_with_one(trained):
    model, x, observed = trained
    for method in ("sample", "mean"):
        first, again, other = (tfnvp.complete(model, x, observed, method, steps=4, seed=seed,
                                              **CHAINS).numpy() for seed in (1, 1, 2))
        np.testing.assert_array_equal(first, again)
        assert not np.allclose(first, other), method
        if method == "sample":
            assert not np.allclose(first[:, 0], first[:, 1])  # the chains of one input differ


def conditional_moments(model, x1, grid):
    """Mean and std of p(x2 | x1) for a 2-D model by quadrature on `grid`."""
    points = np.stack([np.full_like(grid, x1), grid], axis=1)
    log_p = model.log_prob(points).numpy()
    weights = np.exp(log_p - log_p.max())
    weights /= weights.sum()
    mean = np.sum(weights * grid)
    return mean, np.sqrt(np.sum(weights * (grid - mean) ** 2))


@pytest.mark.parametrize("levels, scale, seed, x1", [(None, 0.5, 4, [0.6, -0.4]),
                                                     (LEVELS, 0.3, 0, [1.0, 3.0])])
def test_the_chains_follow_the_conditional_density(levels, scale, seed, x1):
    """The MCMC mean and spread of x2 given x1 match p(x2 | x1) computed by quadrature, for a
    continuous flow and for a discrete one (whose chains move in logit coordinates: without the
    change-of-variables term they would follow another density)."""
    model = randomized(tiny_vector_model(levels=levels, dtype="float64"), scale=scale, seed=seed)
    x1 = np.array(x1)
    x = np.stack([x1, np.zeros(2)], axis=1)
    observed = np.array([True, False])
    grid = np.linspace(-8, 8, 20001) if levels is None else np.linspace(1e-6, LEVELS - 1e-6,
                                                                        20001)
    means = tfnvp.complete(model, x, observed, "mean", steps=300, samples=64, seed=0).numpy()
    draws = tfnvp.complete(model, x, observed, "sample", steps=300, samples=256, seed=1).numpy()
    for i in range(2):
        mean, std = conditional_moments(model, x1[i], grid)
        assert abs(means[i, 1] - mean) < 0.1 * std, (i, means[i, 1], mean, std)
        assert abs(np.std(draws[i, :, 1]) / std - 1) < 0.15, (i, np.std(draws[i, :, 1]), std)
        np.testing.assert_array_equal(draws[i, :, 0], x1[i])


def test_a_mask_for_one_example_applies_to_all():
    model = randomized(tiny_vector_model(dtype="float64"))
    x = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    completed = tfnvp.complete(model, x, np.array([False, True]), "map", steps=3).numpy()
    np.testing.assert_array_equal(completed[:, 1], x[:, 1])
    assert not np.allclose(completed[:, 0], x[:, 0])


def test_model_complete_delegates(trained):
    model, x, observed = trained
    np.testing.assert_array_equal(model.complete(x, observed, method="map", steps=3).numpy(),
                                  tfnvp.complete(model, x, observed, "map", steps=3).numpy())


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="gibbs"), "`method` must be one of map, sample, mean, got 'gibbs'"),
    (dict(observed=np.ones((4, 4, 1), np.int32)), "`observed` must be boolean"),
    (dict(observed=np.ones((2, 4, 4, 1), bool)), r"`observed` has shape \(2, 4, 4, 1\); "
                                                 r"expected the shape of `x` \(6, 4, 4, 1\)"),
    (dict(method="mean", steps=0), "`steps` must be an integer >= 1"),
    (dict(samples=0), "`samples` must be an integer >= 1"),
    (dict(batch_size=0), "`batch_size` must be an integer >= 1"),
    (dict(x=np.zeros((4, 4, 1), np.float32)), "expected \\[N, 4, 4, 1\\] \\(one batch axis\\)"),
])
def test_bad_arguments_name_the_parameter(trained, kwargs, message):
    model = trained[0]
    arguments = dict(x=dequantised_pixels(np.random.default_rng(0), 6),
                     observed=np.ones((6, 4, 4, 1), bool), method="map")
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        tfnvp.complete(model, **arguments)
