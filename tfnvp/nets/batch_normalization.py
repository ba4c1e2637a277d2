"""Batch norm inside the image s/t nets: Keras' layer, with training steps in one fused kernel.

    y = gamma * (x - mean) / sqrt(var + eps) + beta         mean, var over [B, H, W] per channel
    moving <- momentum * moving + (1 - momentum) * batch    (var: the biased batch variance)

Keras' `BatchNormalization(synchronized=True)` computes the moments from about fifteen separate
ops (a count from `ones_like(x)`, sums of x and x^2, all-reduces, divisions) and its gradient from
about thirty more. Training on one replica, this layer runs TensorFlow's `FusedBatchNormV3`
instead: one op forward, one backward (oneDNN's on CPUs that have it), the same result to
rounding. Across replicas it keeps Keras' synchronised moments (the global batch's statistics),
and float64, masks or non-image inputs take Keras' path. Weights and config are Keras' own, and
the class keeps Keras' name because Keras files (`.keras`, `.weights.h5`) address a layer's
weights by its class name: files written with Keras' layer load into this one and back.
"""
import keras
import tensorflow as tf

__all__ = ["BatchNormalization"]


def _single_replica():
    """True outside `tf.distribute`, or in a replica of a one-replica strategy."""
    context = tf.distribute.get_replica_context()
    return context is None or context.num_replicas_in_sync == 1


@keras.saving.register_keras_serializable("tfnvp")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` (same arguments), fused for NHWC `[B, H, W, C]`."""

    def _fusable(self, inputs, training, mask):
        return (training and self.trainable and mask is None and not self.renorm
                and self.scale and self.center and inputs.shape.rank == 4
                and self.axis in (-1, 3) and inputs.dtype != tf.float64
                and _single_replica())

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        # Statistics in float32 whatever the compute dtype, as Keras' layer does.
        x = tf.cast(inputs, tf.float32)
        fused = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=tf.cast(self.gamma, tf.float32), offset=tf.cast(self.beta, tf.float32),
            mean=tf.constant([], tf.float32), variance=tf.constant([], tf.float32),
            epsilon=self.epsilon, exponential_avg_factor=1.0, data_format="NHWC",
            is_training=True)
        # The kernel returns the unbiased variance; the moving average follows Keras' biased one.
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
        variance = fused.batch_variance * ((count - 1.0) / count)
        momentum = self.momentum
        self.moving_mean.assign(tf.cast(self.moving_mean, tf.float32) * momentum
                                + fused.batch_mean * (1.0 - momentum))
        self.moving_variance.assign(tf.cast(self.moving_variance, tf.float32) * momentum
                                    + variance * (1.0 - momentum))
        return tf.cast(fused.y, self.compute_dtype)
