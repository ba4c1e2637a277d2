"""Invertible batch normalisation in the flow path (Dinh et al. 2017, section 3.7).

    y = (x - mu) / sqrt(var + eps)          per feature (the last axis)
    log|det dy/dx| = -0.5 * sum(log(var + eps)) * (entries per feature: H*W for images, 1 else)

Training mode (the x -> z pass of a training step, the one place the statistics move):

    mu  <- momentum * mu  + (1 - momentum) * batch_mean        (same rule for var)
    mu  <- batch_mean                                           the first pass of fresh statistics

and the batch is normalised with the *updated* running values, so training and evaluation use
nearly the same map (the paper's weighted average). The batch moments are those of the global
batch: under `tf.distribute` they are all-reduced over the replicas, so N replicas with B/N
examples each compute what one device computes with B. Evaluation mode uses the stored values
only, so forward and inverse are exact inverses. The statistics live in a Keras layer
(`tfnvp.nets.FlowBatchNormStatistics`) that the model owns; this bijector borrows it.

Why the average must be short and start at the data (issue 17). Only `1 - momentum` of the
batch moments carries a gradient, so to the optimizer each batch norm is an almost fixed affine
map that follows its input with a lag of about `1 / (1 - momentum)` steps. A coupling and the
batch norm after it share a scale symmetry (the coupling stretches a feature, the batch norm
divides it back), and the couplings drift along it; each drift reaches the later layers
un-normalised until the average catches up, so they chase a moving target. With momentum 0.99
(lag 100 steps) and the average started at (0, 1), the training NLL of a vector flow on 8x8
image patches (per-feature variances near 0.005: 500 steps to get there) climbed 20 nats over
6 epochs at lr 1e-4 and the validation NLL jumped by up to 90. Starting the average at the first
batch's moments removes the slow start, and a short average (the vector flow's default momentum
0.9: a lag of 10 steps) removes the climb: see the README's vector-flow section for the curves.
"Fresh" statistics are the initial (0, 1) of every feature exactly, which trained statistics
never are, so checkpoints written before this rule load and train on as they did.
"""
import tensorflow as tf

from tfnvp.bijectors.flow_bijector import FlowBijector

__all__ = ["BatchNorm", "global_moments"]


class BatchNorm(FlowBijector):
    """Args: `statistics`: a layer with `moving_mean`, `moving_variance` (shape `[C]`),
    `momentum` and `epsilon`; `event_ndims`: 1 for vectors `[D]`, 3 for images `[H, W, C]`."""

    def __init__(self, statistics, event_ndims, name="batch_norm"):
        parameters = dict(locals())
        self._statistics = statistics
        super().__init__(event_ndims=event_ndims, parameters=parameters, name=name,
                         layers=[statistics])

    @property
    def statistics(self):
        return self._statistics

    def _mean_and_variance(self, x, training):
        stats = self._statistics
        mean = tf.cast(stats.moving_mean, x.dtype)
        variance = tf.cast(stats.moving_variance, x.dtype)
        if not training:
            return mean, variance
        batch_mean, batch_variance = global_moments(x, axes=list(range(x.shape.rank - 1)))
        # fresh statistics (no training pass yet) start at the batch's moments, not at (0, 1)
        fresh = tf.logical_and(tf.reduce_all(tf.equal(mean, 0.0)),
                               tf.reduce_all(tf.equal(variance, 1.0)))
        momentum = tf.where(fresh, tf.constant(0.0, x.dtype), tf.constant(stats.momentum, x.dtype))
        mean = momentum * mean + (1.0 - momentum) * batch_mean
        variance = momentum * variance + (1.0 - momentum) * batch_variance
        stats.moving_mean.assign(tf.cast(tf.stop_gradient(mean), stats.moving_mean.dtype))
        stats.moving_variance.assign(
            tf.cast(tf.stop_gradient(variance), stats.moving_variance.dtype))
        return mean, variance

    def _log_scale(self, variance, x):
        """Log-det of the map, a scalar broadcast to the batch shape of ``x``."""
        per_feature = -0.5 * tf.math.log(variance + tf.constant(self._statistics.epsilon, x.dtype))
        spatial = tf.shape(x)[x.shape.rank - self.event_ndims:-1]  # [H, W] for images, [] else
        entries_per_feature = tf.cast(tf.reduce_prod(spatial), x.dtype)
        total = tf.reduce_sum(per_feature) * entries_per_feature
        return tf.fill(tf.shape(x)[:-self.event_ndims], total)

    def forward_and_log_det(self, x, training=False):
        mean, variance = self._mean_and_variance(x, training)
        eps = tf.constant(self._statistics.epsilon, x.dtype)
        y = (x - mean) * tf.math.rsqrt(variance + eps)
        return y, self._log_scale(variance, x)

    def inverse_and_log_det(self, y):
        mean, variance = self._mean_and_variance(y, training=False)
        eps = tf.constant(self._statistics.epsilon, y.dtype)
        x = y * tf.sqrt(variance + eps) + mean
        return x, -self._log_scale(variance, y)


def global_moments(x, axes):
    """Mean and (biased) variance of `x` over `axes` and over every replica in sync.

    Outside `tf.distribute` (or with one replica) this is `tf.nn.moments`. With N replicas the
    sums are all-reduced (differentiably) in two passes, mean first, so the result equals the
    moments of the concatenated global batch without the cancellation of E[x^2] - E[x]^2."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return tf.nn.moments(x, axes=axes)
    sum_ = tf.distribute.ReduceOp.SUM
    count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), x.dtype)
    count = context.all_reduce(sum_, count)
    mean = context.all_reduce(sum_, tf.reduce_sum(x, axis=axes)) / count
    squares = tf.reduce_sum(tf.square(x - mean), axis=axes)
    return mean, context.all_reduce(sum_, squares) / count
