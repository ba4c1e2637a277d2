"""The whole RealNVP model: exact log-det, exact inverse, accounting, normalisation, batch norm."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

import tfnvp
from helpers import autodiff_log_det, randomize_flow_statistics, randomize_weights

SMALL_IMAGE = dict(num_res_blocks=1, num_filters=4)


def _random_model(event_shape, seed=0, scale=0.2, **kwargs):
    model = tfnvp.RealNVP(event_shape, dtype="float64", **kwargs)
    randomize_weights(model, scale=scale, seed=seed)
    randomize_flow_statistics(model, seed=seed)
    return model


def _pixels(shape, levels, seed=0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.integers(0, levels, shape) + rng.uniform(0, 1, shape), tf.float64)


@pytest.mark.parametrize("event_shape, num_scales", [((8, 8, 1), 2), ((4, 4, 3), 2)])
def test_image_flow_log_det_is_the_jacobian_log_det_and_inverse_is_exact(event_shape, num_scales):
    model = _random_model(event_shape, levels=256, num_scales=num_scales, **SMALL_IMAGE)
    x = _pixels((2, *event_shape), 256)
    z, log_det = model.forward_and_log_det(x)
    assert z.shape == x.shape  # as many latent dimensions as data dimensions
    expected = autodiff_log_det(lambda t: model.forward_and_log_det(t)[0], x, 3)
    np.testing.assert_allclose(log_det.numpy(), expected, rtol=1e-6)
    x_back = model.decode(tf.identity(z))
    np.testing.assert_allclose(x_back.numpy(), x.numpy(), rtol=1e-6)
    # The couplings really transform (random weights): z is not just a reshuffled logit(x).
    assert np.abs(log_det.numpy() - expected).max() < 1e-6 * np.abs(expected).max()


def test_vector_flow_log_det_and_inverse():
    model = _random_model((5,), num_couplings=4, hidden_units=8, scale=0.4)
    x = tf.constant(np.random.default_rng(1).normal(size=(3, 5)), tf.float64)
    z, log_det = model.forward_and_log_det(x)
    np.testing.assert_allclose(log_det.numpy(), autodiff_log_det(
        lambda t: model.forward_and_log_det(t)[0], x, 1), rtol=1e-6)
    np.testing.assert_allclose(model.decode(tf.identity(z)).numpy(), x.numpy(), rtol=1e-6)


def test_model_log_prob_equals_the_tfp_distribution():
    model = _random_model((4, 4, 1), levels=16, num_scales=2, **SMALL_IMAGE)
    x = _pixels((3, 4, 4, 1), 16)
    np.testing.assert_allclose(model.log_prob(x).numpy(),
                               model.distribution.log_prob(x).numpy(), rtol=1e-9)
    z = model.encode(x)
    np.testing.assert_allclose(model.prior.log_prob(z).numpy(),
                               stats.norm.logpdf(z.numpy()).sum(axis=(1, 2, 3)), rtol=1e-9)


@pytest.mark.parametrize("levels", [256, 17, 32])
def test_log_prob_at_initialisation_is_logit_accounting_plus_normal_prior(levels):
    # Zero-initialised couplings are the identity, so log p(x) = log N(logit(p); 0, I) + the
    # logit preprocessing's log-det, computed here independently of tfnvp.
    model = tfnvp.RealNVP((8, 8, 1), levels=levels, flow_batch_norm=False, dtype="float64")
    x = _pixels((4, 8, 8, 1), levels, seed=levels).numpy()
    alpha = 0.05
    p = alpha + (1 - 2 * alpha) * x / levels
    y = np.log(p / (1 - p))
    log_det = np.log(1 - 2 * alpha) - np.log(levels) - np.log(p) - np.log(1 - p)
    expected = (stats.norm.logpdf(y) + log_det).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(model.log_prob(x).numpy(), expected, rtol=1e-10)
    bits = -expected / (64 * np.log(2))
    np.testing.assert_allclose(model.bits_per_dim(x).numpy(), bits, rtol=1e-10)


def test_vector_density_integrates_to_one_on_a_grid():
    model = _random_model((2,), num_couplings=4, hidden_units=16, scale=0.4, seed=3)
    edges = np.linspace(-24.0, 24.0, 1201)  # the random flow has heavy-ish tails
    centres = 0.5 * (edges[1:] + edges[:-1])
    cell = (edges[1] - edges[0]) ** 2
    gx, gy = np.meshgrid(centres, centres, indexing="ij")
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    log_density = model.log_prob(points).numpy()
    density = np.exp(log_density)
    assert abs(density.sum() * cell - 1.0) < 2e-3
    # ...and it is not the untouched standard normal.
    assert np.abs(log_density - stats.norm.logpdf(points).sum(1)).max() > 0.1


def test_flow_batch_norm_moves_by_the_momentum_rule_and_is_exact_in_evaluation():
    model = _random_model((4,), num_couplings=2, hidden_units=8, batch_norm_momentum=0.9)
    stats_layer = model.batch_norm_statistics[0]
    old_mean = stats_layer.moving_mean.numpy().copy()
    old_var = stats_layer.moving_variance.numpy().copy()
    x = tf.constant(np.random.default_rng(2).normal(2.0, 3.0, size=(64, 4)), tf.float64)
    coupling = model.flow.steps[0]  # applied first
    h = coupling.forward(x)  # what the first batch norm sees
    model.log_prob(x, training=True)
    np.testing.assert_allclose(stats_layer.moving_mean.numpy(),
                               0.9 * old_mean + 0.1 * h.numpy().mean(0), rtol=1e-10)
    np.testing.assert_allclose(stats_layer.moving_variance.numpy(),
                               0.9 * old_var + 0.1 * h.numpy().var(0), rtol=1e-10)
    # Evaluation mode changes nothing and inverts exactly.
    before = [s.moving_mean.numpy().copy() for s in model.batch_norm_statistics]
    z = model.encode(x)
    np.testing.assert_allclose(model.decode(tf.identity(z)).numpy(), x.numpy(), rtol=1e-9)
    for s, b in zip(model.batch_norm_statistics, before):
        np.testing.assert_array_equal(s.moving_mean.numpy(), b)


def test_defaults_adapt_to_an_8x8_image_and_per_scale_latents_round_trip():
    model = tfnvp.RealNVP((8, 8, 1), levels=17)
    assert model.num_scales == 2
    x = _pixels((2, 8, 8, 1), 17).numpy().astype("float32")
    parts = model.encode(x, per_scale=True)
    assert [tuple(p.shape) for p in parts] == [(2, 4, 4, 2), (2, 4, 4, 2)]
    assert sum(int(np.prod(p.shape[1:])) for p in parts) == 64
    np.testing.assert_allclose(model.merge_latents(parts).numpy(), model.encode(x).numpy())
    np.testing.assert_allclose(model.decode(parts).numpy(), x, rtol=1e-4, atol=1e-4)


def test_sampling_shapes_seeds_and_zero_temperature():
    model = _random_model((4, 4, 1), levels=8, num_scales=2, **SMALL_IMAGE)
    a = model.sample(3, seed=7).numpy()
    assert a.shape == (3, 4, 4, 1) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, model.sample(3, seed=7).numpy())
    assert not np.allclose(a, model.sample(3, seed=8).numpy())
    np.testing.assert_allclose(model.sample(2, temperature=0.0, seed=1).numpy(),
                               model.decode(tf.zeros((2, 4, 4, 1), tf.float64)).numpy())
    # The inverse logit step bounds samples to [-a L, (1 - a) L] / (1 - 2a), a = 0.05: a little
    # wider than [0, L) (the density's support), never unbounded.
    low, high = -0.05 * 8 / 0.9, 0.95 * 8 / 0.9
    assert ((a >= low) & (a <= high)).all()


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(event_shape=(7, 7, 1), num_scales=2), r"\(7, 7, 1\)"),
    (dict(event_shape=(6, 6, 1), num_scales=3), r"divisible by 4"),
    (dict(event_shape=(8, 8, 1), levels=1), r"levels.*got 1"),
    (dict(event_shape=(8, 8)), r"event_shape.*\(8, 8\)"),
    (dict(event_shape=(1,)), r"at least 2 features"),
    (dict(event_shape=(4,), num_couplings=0), r"num_couplings.*got 0"),
    # 0 is refused, not replaced by the shape's default (0 is falsy: an `x or default` bug)
    (dict(event_shape=(8, 8, 1), num_scales=0), r"`num_scales` must be an integer >= 1, got 0"),
    (dict(event_shape=(8, 8, 1), num_filters=0), r"`num_filters` must be an integer >= 1"),
    (dict(event_shape=(4,), hidden_units=0), r"`hidden_units` must be an integer >= 1, got 0"),
    # too many scales for the image: named, with the largest that fits (not "mask ... is all 1")
    (dict(event_shape=(8, 8, 1), num_scales=4), r"down to 1x1 pixels.*`num_scales` <= 3"),
    (dict(event_shape=(4, 4, 1), num_scales=3), r"down to 1x1 pixels.*`num_scales` <= 2"),
])
def test_bad_constructor_arguments_name_the_value(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        tfnvp.RealNVP(**kwargs)


def test_odd_sized_image_works_with_a_single_scale():
    model = tfnvp.RealNVP((5, 7, 1), levels=4, num_res_blocks=1, num_filters=4)
    assert model.num_scales == 1
    assert model.log_prob(np.full((2, 5, 7, 1), 1.5, np.float32)).shape == (2,)


def test_wrong_input_shape_is_refused_with_the_expected_shape():
    model = tfnvp.RealNVP((4,), num_couplings=2, hidden_units=8)
    with pytest.raises(ValueError, match=r"has shape \(3, 5\); expected \[\.\.\., 4\]"):
        model.log_prob(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"has shape \(\); expected \[\.\.\., 4\]"):
        model.log_prob(np.float32(0.0))
    # any leading batch shape, as TFP's distributions take: [] for one example, [2, 3], ...
    assert model.log_prob(np.zeros((4,), np.float32)).shape == ()
    assert model.log_prob(np.zeros((2, 3, 4), np.float32)).shape == (2, 3)


def test_distribution_samples_and_scores_like_the_model():
    model = _random_model((3,), num_couplings=2, hidden_units=8)
    dist = model.distribution
    assert tuple(dist.event_shape) == (3,)
    x = dist.sample(5, seed=(1, 2))
    assert x.shape == (5, 3)
    np.testing.assert_allclose(dist.log_prob(x).numpy(), model.log_prob(x).numpy(), rtol=1e-9)


def test_summary_shows_the_flow_step_by_step():
    model = tfnvp.RealNVP((8, 8, 1), levels=17, num_res_blocks=1, num_filters=8)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "image flow, 2 scale(s), event shape (8, 8, 1), 17 levels" in lines[0]
    names = [line.split()[0] for line in lines if line.strip().startswith(("s0_", "s1_", "logit"))]
    assert names[:3] == ["logit_preprocessing", "s0_checker0", "s0_checker0_bn"]
    assert names[-1] == "s0_unsqueeze" and "s1_checker3" in names
    assert "checkerboard 1, ResNet 1 blocks x 8" in text and "channels 0" in text
    assert "(8, 8, 1) -> (4, 4, 4)" in text  # the squeeze
    assert f"Total params: {model.count_params():,}" in text
    assert "per scale (finest first" in text and "(4, 4, 2), (4, 4, 2)" in text
    assert "?" not in text  # Keras's own summary shows output shape '?' for every layer
