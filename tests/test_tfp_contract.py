"""TFP's Bijector and Distribution contract, checked the way a TFP user reaches our flow.

Every bijector of `bijector_registry` (alone, inverted with `tfb.Invert`, chained with TFP's own
`tfb.Shift` / `tfb.Scale` / `tfb.Reshape`) and the whole flow, vector and image, through TFP's
public API only (`forward`, `inverse`, `forward_log_det_jacobian`, ...), not our fused methods:

    inverse(forward(x)) = x (cache on and broken)      fldj(x) = log|det J_autodiff(x)|
    ildj(forward(x)) = -fldj(x)                         event_ndims above the minimum reduce more
    shapes static, dynamic and partially unknown        float32 and float64, tf.function and XLA

and the four defects this module was written for: a training-mode pass through TFP's API moves
the batch-norm statistics once and its log-det is that of its output; `model.log_prob` equals
`model.distribution.log_prob` on the flow's whole support and integrates to 1; partially unknown
event shapes pass through a squeeze; `model.distribution.trainable_variables` are the model's.
"""
import functools

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from bijector_registry import REGISTRY
from helpers import LEVELS, autodiff_log_det, randomized, tiny_image_model, tiny_vector_model
from tfnvp.bijectors import BatchNorm, Squeeze

tfb, tfd = tfp.bijectors, tfp.distributions


def _wrapped(kind, bijector, x):
    """`bijector` as TFP composes it, and an input in the domain of the composite."""
    if kind == "alone":
        return bijector, x
    if kind == "inverted":  # the inverse's domain is the forward's range
        return tfb.Invert(bijector), tf.identity(bijector.forward(x))
    event = bijector.forward_event_shape(x.shape[-bijector.forward_min_event_ndims:])
    flat = [int(np.prod(event))]
    chain = tfb.Chain([tfb.Reshape(flat, event_shape_in=event), bijector,
                       tfb.Scale(tf.constant(1.5, x.dtype)), tfb.Shift(tf.constant(0.25, x.dtype))])
    x_in = (x - 0.25) / 1.5  # Chain applies Shift first, then Scale
    return chain, x_in


CASES = sorted(REGISTRY)
KINDS = ["alone", "inverted", "chained"]


@functools.lru_cache(maxsize=None)
def built(name, dtype):
    """A registry bijector and its input, built once per dtype (building Keras layers is the
    slow part of these tests)."""
    return REGISTRY[name](dtype)


def _tolerance(dtype):
    return dict(rtol=1e-6, atol=1e-7) if dtype == tf.float64 else dict(rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("dtype, kind", [("float64", kind) for kind in KINDS] +
                         [("float32", "alone")])
@pytest.mark.parametrize("name", CASES)
def test_public_api_round_trip_log_dets_and_event_ndims(name, dtype, kind):
    bijector, x = _wrapped(kind, *built(name, dtype))
    n = bijector.forward_min_event_ndims
    tol = _tolerance(x.dtype)
    y = bijector.forward(x)
    assert y.dtype == x.dtype and np.isfinite(y.numpy()).all()
    np.testing.assert_allclose(bijector.inverse(y).numpy(), x.numpy(), **tol)  # cache hit
    np.testing.assert_allclose(bijector.inverse(tf.identity(y)).numpy(), x.numpy(), **tol)
    fldj = bijector.forward_log_det_jacobian(x, event_ndims=n)
    ildj = bijector.inverse_log_det_jacobian(tf.identity(y),
                                             event_ndims=bijector.inverse_min_event_ndims)
    np.testing.assert_allclose(np.broadcast_to(fldj, x.shape[:-n]),
                               np.broadcast_to(-ildj, x.shape[:-n]), **tol)
    x64 = tf.cast(x, tf.float64) if x.dtype == tf.float32 else x
    expected = autodiff_log_det(lambda t: tf.cast(bijector.forward(tf.cast(t, x.dtype)),
                                                  tf.float64), x64, n)
    np.testing.assert_allclose(np.broadcast_to(fldj, x.shape[:-n]), expected, **tol)
    if len(x.shape) > n:  # one more event dimension: the log-det also sums over it
        more = bijector.forward_log_det_jacobian(x, event_ndims=n + 1)
        np.testing.assert_allclose(more, np.sum(np.broadcast_to(fldj, x.shape[:-n]), -1),
                                   **tol)


@pytest.mark.parametrize("jit", [False, True], ids=["tf.function", "xla"])
@pytest.mark.parametrize("name", CASES)
def test_compiled_public_api_matches_eager(name, jit):
    bijector, x = built(name, "float32")
    n = bijector.forward_min_event_ndims

    @tf.function(jit_compile=jit)
    def both_ways(x):
        y = bijector.forward(x)
        return y, bijector.forward_log_det_jacobian(x, n), bijector.inverse(tf.identity(y))

    y, fldj, x_back = both_ways(x)
    tol = _tolerance(x.dtype)
    np.testing.assert_allclose(y.numpy(), bijector.forward(tf.identity(x)).numpy(), **tol)
    np.testing.assert_allclose(np.broadcast_to(fldj, x.shape[:-n]), np.broadcast_to(
        bijector.forward_log_det_jacobian(tf.identity(x), n), x.shape[:-n]), **tol)
    np.testing.assert_allclose(x_back.numpy(), x.numpy(), **tol)


@pytest.mark.parametrize("name", CASES)
def test_static_dynamic_and_partially_unknown_event_shapes(name):
    bijector, x = built(name, "float64")
    n = bijector.forward_min_event_ndims
    y = bijector.forward(x)
    event_in, event_out = x.shape[-n:], y.shape[-n:]
    assert bijector.forward_event_shape(event_in) == event_out
    assert bijector.inverse_event_shape(event_out) == event_in
    np.testing.assert_array_equal(bijector.forward_event_shape_tensor(event_in.as_list()),
                                  event_out.as_list())
    np.testing.assert_array_equal(bijector.inverse_event_shape_tensor(event_out.as_list()),
                                  event_in.as_list())
    unknown = tf.TensorShape([None] * n)
    assert bijector.forward_event_shape(unknown).rank == n
    # One unknown dimension at a time: it stays unknown, the known ones are still computed
    # (each output axis of our bijectors depends on the same input axis only).
    for axis in range(n):
        partial = event_in.as_list()
        partial[axis] = None
        expected = event_out.as_list()
        expected[axis] = None
        assert bijector.forward_event_shape(partial).as_list() == expected

    @tf.function(input_signature=[tf.TensorSpec([None] * len(x.shape), x.dtype)])
    def dynamic(x):  # every dimension unknown while tracing
        return bijector.forward(x), bijector.forward_log_det_jacobian(x, n)

    y_dynamic, _ = dynamic(x)
    np.testing.assert_allclose(y_dynamic.numpy(), y.numpy(), **_tolerance(x.dtype))


def test_squeeze_event_shape_keeps_unknown_dimensions_unknown():
    """Defect 3: `Squeeze.forward_event_shape([None, 4, 2])` raised a TypeError."""
    squeeze = Squeeze()
    assert squeeze.forward_event_shape([None, 4, 2]).as_list() == [None, 2, 8]
    assert squeeze.inverse_event_shape([2, None, 8]).as_list() == [4, None, 2]
    assert squeeze.forward_event_shape(tf.TensorShape(None)).rank is None
    model = tiny_image_model()
    assert model.flow.forward_event_shape([None, 4, 1]).as_list() == [None, 4, 1]
    assert model.distribution.event_shape == (4, 4, 1)


# ------------------------------------------------------------ training mode through TFP's API

def _twins(make):
    """Two models with the same (non-trivial) weights and statistics."""
    a, b = randomized(make()), make()
    b.set_weights(a.get_weights())
    return a, b


def _weights_equal(a, b):
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa.numpy(), wb.numpy(), rtol=1e-6, atol=1e-7,
                                   err_msg=wa.path)


@pytest.mark.parametrize("make", [tiny_image_model, tiny_vector_model], ids=["image", "vector"])
@pytest.mark.parametrize("order", ["forward_first", "log_det_first"])
def test_training_pass_through_tfp_moves_statistics_once_with_the_outputs_log_det(make, order):
    """Defect 1: `forward(x, training=True)` and `forward_log_det_jacobian(x, training=True)` ran
    two fused passes: the flow and ResNet batch-norm statistics moved twice and the log-det
    belonged to the second map. Now both come from one pass, as in `train_step`."""
    tfp_model, fused_model = _twins(make)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, LEVELS, (6, *tfp_model.event_shape)) if tfp_model.levels
                    else rng.normal(size=(6, *tfp_model.event_shape)), tf.float32)
    flow, n = tfp_model.flow, len(tfp_model.event_shape)
    if order == "forward_first":
        z = flow.forward(x, training=True)
        log_det = flow.forward_log_det_jacobian(x, n, training=True)
    else:
        log_det = flow.forward_log_det_jacobian(x, n, training=True)
        z = flow.forward(x, training=True)
    z_fused, log_det_fused = fused_model.forward_and_log_det(x, training=True)
    np.testing.assert_allclose(z.numpy(), z_fused.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(log_det.numpy(), log_det_fused.numpy(), rtol=1e-5, atol=1e-4)
    _weights_equal(tfp_model, fused_model)  # running statistics moved exactly once
    assert any(not np.allclose(s.moving_mean.numpy(), 0.0) for s in
               tfp_model.batch_norm_statistics)  # ... and they did move


def test_distribution_log_prob_in_training_mode_is_the_train_step_objective():
    tfp_model, fused_model = _twins(tiny_image_model)
    x = tf.constant(np.random.default_rng(1).uniform(0, LEVELS, (5, 4, 4, 1)), tf.float32)
    log_p = tfp_model.distribution.log_prob(x, bijector_kwargs={"training": True})
    np.testing.assert_allclose(log_p.numpy(), fused_model.log_prob(x, training=True).numpy(),
                               rtol=1e-5)
    _weights_equal(tfp_model, fused_model)


def test_batch_norm_alone_through_tfp_api_updates_once():
    stats_tfp, stats_fused = (REGISTRY["batch_norm_vector"]()[0].statistics for _ in range(2))
    x = tf.constant(np.random.default_rng(2).normal(2.0, 3.0, (8, 4)))
    bn_tfp, bn_fused = BatchNorm(stats_tfp, 1, name="a"), BatchNorm(stats_fused, 1, name="b")
    y = bn_tfp.forward(x, training=True)
    fldj = bn_tfp.forward_log_det_jacobian(x, 1, training=True)
    y_fused, fldj_fused = bn_fused.forward_and_log_det(x, training=True)
    np.testing.assert_allclose(stats_tfp.moving_mean, stats_fused.moving_mean, rtol=1e-12)
    np.testing.assert_allclose(stats_tfp.moving_variance, stats_fused.moving_variance,
                               rtol=1e-12)
    np.testing.assert_allclose(y, y_fused, rtol=1e-12)
    # the log-det is that of the map that produced y: autodiff of y w.r.t. x (statistics fixed)
    np.testing.assert_allclose(fldj, fldj_fused, rtol=1e-12)
    expected = autodiff_log_det(lambda t: bn_fused.forward_and_log_det(t)[0], x, 1)
    np.testing.assert_allclose(fldj, expected, rtol=1e-9)  # evaluation map = the updated one


def test_gradients_reach_every_variable_through_the_distribution():
    model = randomized(tiny_image_model())
    x = tf.constant(np.random.default_rng(3).uniform(0, LEVELS, (4, 4, 4, 1)), tf.float32)
    variables = model.distribution.trainable_variables
    with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(model.distribution.log_prob(x, bijector_kwargs={"training": True}))
    gradients = tape.gradient(loss, variables)
    assert len(variables) == len(model.trainable_variables) > 20
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in gradients)


# ------------------------------------------------------------ the distribution and the model

def test_distribution_variables_are_the_models():
    """Defect 4: `model.distribution.trainable_variables` was empty (Keras 3 variables are
    invisible to tf.Module tracking), so TFP code defaulting to them trained nothing."""
    model = tiny_image_model()
    dist = model.distribution
    ours = {v.ref() for v in dist.trainable_variables}
    assert ours == {w.value.ref() for w in model.trainable_weights}
    assert {v.ref() for v in dist.variables} == {w.value.ref() for w in model.weights}


def test_tfp_math_minimize_trains_the_flow_inside_a_mixture():
    model = tiny_vector_model()
    mixture = tfd.Mixture(cat=tfd.Categorical(probs=[0.5, 0.5]), components=[
        model.distribution, tfd.MultivariateNormalDiag(loc=[3.0, 3.0])])
    x = tf.constant(np.random.default_rng(4).normal(0.0, 0.3, (64, 2)) + [1.0, -1.0],
                    tf.float32)
    before = [w.numpy().copy() for w in model.trainable_weights]
    losses = tfp.math.minimize(
        lambda: -tf.reduce_mean(mixture.log_prob(x)), num_steps=10,
        optimizer=keras.optimizers.Adam(3e-2), trainable_variables=mixture.trainable_variables)
    assert losses[-1] < losses[0] - 0.1
    assert sum(not np.array_equal(b, w.numpy()) for b, w in
               zip(before, model.trainable_weights)) == len(before)


def _discrete_vector_model(seed=0):
    return randomized(tiny_vector_model(levels=LEVELS), scale=0.4, seed=seed)


def test_log_prob_equals_the_distribution_on_the_whole_support():
    """Defect 2: `model.log_prob` was -inf outside [0, L] where the flow (and
    `model.distribution`) has density: a third of the model's own samples scored -inf."""
    for model in (randomized(tiny_image_model()), _discrete_vector_model()):
        low, high = model.support
        assert low < 0 and high > LEVELS
        samples = model.sample(200, seed=5)
        outside_data_range = (samples < 0) | (samples >= LEVELS)
        assert np.any(outside_data_range)  # the model's own samples leave [0, L) ...
        log_p = model.log_prob(samples).numpy()
        assert np.isfinite(log_p).all()  # ... and are scored finitely
        np.testing.assert_allclose(log_p, model.distribution.log_prob(samples).numpy(),
                                   rtol=1e-5, atol=1e-4)


def test_log_prob_is_minus_inf_only_outside_the_support_and_never_nan():
    model = _discrete_vector_model()
    low, high = model.support
    eps = 1e-3
    x = np.array([[low + eps, 1.0], [high - eps, 1.0], [low - eps, 1.0], [1.0, high + eps],
                  [low, 1.0], [high, high], [-1e6, 1e6], [np.inf, 1.0], [0.0, LEVELS - 1e-4]],
                 np.float32)
    log_p = model.log_prob(x).numpy()
    dist = model.distribution.log_prob(x).numpy()
    assert not np.isnan(log_p).any() and not np.isnan(dist).any()
    assert np.isfinite(log_p[[0, 1, 8]]).all()
    assert (log_p[2:8] == -np.inf).all()
    np.testing.assert_array_equal(log_p, dist)


def test_discrete_density_integrates_to_one_over_its_support():
    """A 2-D discrete model's density on a fine grid over `(low, high)^2` sums to 1."""
    model = _discrete_vector_model(seed=3)
    low, high = model.support
    n = 700
    edges = np.linspace(low, high, n + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    grid = np.stack(np.meshgrid(centres, centres, indexing="ij"), -1).reshape(-1, 2)
    log_p = np.concatenate([model.log_prob(grid[i:i + 50_000].astype(np.float32)).numpy()
                            for i in range(0, len(grid), 50_000)])
    mass = np.exp(log_p.astype(np.float64)).sum() * (edges[1] - edges[0]) ** 2
    assert abs(mass - 1.0) < 0.01, mass


@pytest.mark.parametrize("batch_shape", [(), (5,), (2, 3)], ids=str)
@pytest.mark.parametrize("make", [lambda: randomized(tiny_image_model()),
                                  lambda: randomized(tiny_vector_model())],
                         ids=["image", "vector"])
def test_transformed_distribution_sample_and_log_prob_agree_with_the_model(make, batch_shape):
    model = make()
    dist, event = model.distribution, model.event_shape
    x = dist.sample(batch_shape, seed=7)
    assert tuple(x.shape) == (*batch_shape, *event)
    log_p = dist.log_prob(x)
    assert tuple(log_p.shape) == batch_shape
    flat = tf.reshape(x, (-1, *event))
    np.testing.assert_allclose(np.reshape(log_p, -1), model.log_prob(flat).numpy(), rtol=1e-5,
                               atol=1e-4)
    np.testing.assert_allclose(model.log_prob(x).numpy(), log_p.numpy(), rtol=1e-5, atol=1e-4)
    x2, log_p2 = dist.experimental_sample_and_log_prob(batch_shape, seed=8)
    np.testing.assert_allclose(log_p2.numpy(), model.log_prob(tf.identity(x2)).numpy(),
                               rtol=1e-5, atol=1e-4)
    z = model.encode(x2)
    np.testing.assert_allclose(model.decode(z).numpy(), x2.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("jit", [False, True], ids=["tf.function", "xla"])
def test_distribution_compiles(jit):
    model = randomized(tiny_image_model())
    dist = model.distribution

    @tf.function(jit_compile=jit)
    def draw_and_score(seed):
        x = dist.sample(3, seed=seed)
        return x, dist.log_prob(x)

    x, log_p = draw_and_score(tf.constant([1, 2], tf.int32))
    np.testing.assert_allclose(log_p.numpy(), model.log_prob(x).numpy(), rtol=1e-4, atol=1e-3)
