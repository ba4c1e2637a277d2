"""`model.distribution` inside other TFP constructs gives the numbers computed by hand.

    Mixture:       log p(x) = logsumexp_k(log w_k + log p_k(x))
    Sample(d, n) / Independent(BatchBroadcast(d, [n]), 1):  log p(x_1..n) = sum_i log p(x_i)
    Joint prior:   log p(x, y) = log p_flow(x) + log N(y; x, s^2 I)
"""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from helpers import randomized, tiny_image_model, tiny_vector_model

tfd = tfp.distributions
WEIGHTS = np.array([0.3, 0.7], np.float32)


@pytest.fixture(scope="module")
def vector_model():
    return randomized(tiny_vector_model())


@pytest.fixture(scope="module")
def image_model():
    return randomized(tiny_image_model(), scale=0.05)


def _by_hand_mixture(log_probs):
    return tf.reduce_logsumexp(np.log(WEIGHTS)[:, None] + np.stack(log_probs), axis=0).numpy()


def test_mixture_with_a_gaussian(vector_model):
    gaussian = tfd.MultivariateNormalDiag(loc=[1.0, -0.5], scale_diag=[0.7, 2.0])
    mixture = tfd.Mixture(cat=tfd.Categorical(probs=WEIGHTS),
                          components=[vector_model.distribution, gaussian])
    x = np.random.default_rng(1).normal(size=(6, 2)).astype("float32") * 2
    expected = _by_hand_mixture([vector_model.log_prob(x).numpy(), gaussian.log_prob(x).numpy()])
    np.testing.assert_allclose(mixture.log_prob(x).numpy(), expected, rtol=1e-5)
    draws = mixture.sample(5, seed=3)
    assert draws.shape == (5, 2) and np.isfinite(draws.numpy()).all()


def test_mixture_trains_the_flow(vector_model):
    """Gradients of a mixture's log-likelihood reach every trainable weight of the flow."""
    mixture = tfd.Mixture(cat=tfd.Categorical(probs=WEIGHTS), components=[
        vector_model.distribution, tfd.MultivariateNormalDiag(loc=[0.0, 0.0])])
    x = np.random.default_rng(2).normal(size=(6, 2)).astype("float32")
    with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(mixture.log_prob(x))
    gradients = tape.gradient(loss, vector_model.trainable_variables)
    assert gradients and all(g is not None and np.any(g.numpy() != 0) for g in gradients)


def test_mixture_of_an_image_flow_and_a_uniform(image_model):
    uniform = tfd.Independent(tfd.Uniform(tf.zeros((4, 4, 1)), 4.0), reinterpreted_batch_ndims=3)
    mixture = tfd.Mixture(cat=tfd.Categorical(probs=WEIGHTS),
                          components=[image_model.distribution, uniform])
    x = np.random.default_rng(3).uniform(0, 4, (3, 4, 4, 1)).astype("float32")
    flow = image_model.log_prob(x).numpy()
    np.testing.assert_allclose(uniform.log_prob(x).numpy(), -16 * np.log(4.0), rtol=1e-6)
    expected = _by_hand_mixture([flow, uniform.log_prob(x).numpy()])
    np.testing.assert_allclose(mixture.log_prob(x).numpy(), expected, rtol=1e-5)
    assert mixture.sample(2, seed=4).shape == (2, 4, 4, 1)


def test_sample_and_independent_sum_over_iid_vectors(vector_model):
    x = np.random.default_rng(4).normal(size=(5, 3, 2)).astype("float32")
    by_hand = vector_model.log_prob(x.reshape(-1, 2)).numpy().reshape(5, 3).sum(axis=1)
    iid = tfd.Sample(vector_model.distribution, sample_shape=3)
    broadcast = tfd.Independent(tfd.BatchBroadcast(vector_model.distribution, [3]),
                                reinterpreted_batch_ndims=1)
    for distribution in (iid, broadcast):
        assert tuple(distribution.event_shape) == (3, 2)
        np.testing.assert_allclose(distribution.log_prob(x).numpy(), by_hand, rtol=1e-5)
        assert distribution.sample(4, seed=5).shape == (4, 3, 2)


def test_flow_as_a_prior_in_joint_distributions(vector_model):
    """Prior x ~ flow, observation y ~ N(x, 0.5^2 I). A JointDistributionSequential resolves
    dependencies by name, so the flow (named "RealNVP") is renamed to the lambda's argument."""
    def likelihood(x):
        return tfd.Independent(tfd.Normal(x, 0.5), reinterpreted_batch_ndims=1)

    sequential = tfd.JointDistributionSequential(
        [vector_model.distribution.copy(name="x"), likelihood])
    named = tfd.JointDistributionNamed(dict(x=vector_model.distribution, y=likelihood))
    rng = np.random.default_rng(5)
    x, y = (rng.normal(size=(4, 2)).astype("float32") for _ in range(2))
    expected = vector_model.log_prob(x).numpy() + likelihood(x).log_prob(y).numpy()
    np.testing.assert_allclose(sequential.log_prob([x, y]).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(named.log_prob(x=x, y=y).numpy(), expected, rtol=1e-5)
    draw = named.sample(3, seed=6)
    assert draw["x"].shape == draw["y"].shape == (3, 2)
    # the posterior over x given y is unnormalised log p(x, y): its gradient in x is finite
    x_var = tf.Variable(x)
    with tf.GradientTape() as tape:
        log_joint = tf.reduce_sum(sequential.log_prob([x_var, y]))
    assert np.isfinite(tape.gradient(log_joint, x_var).numpy()).all()
