"""The side-by-side reference: the same vector flow built from TFP's own bijectors.

    f^{-1} = Chain([RealNVP(num_masked=D/2, fn_k), Permute(halves swapped)] x num_couplings)
    fn_k: x[:D/2] -> Dense(h, relu) x layers -> Dense(2 * D/2, zeros) -> (shift, log_scale)

This is what a user would write with `tfb.RealNVP`: a Keras 3 model owns the MLPs (so gradients
reach them; TFP's bijectors only borrow them) and `log_prob` goes through
`tfd.TransformedDistribution`. Same architecture as `tfnvp.RealNVP((D,), num_couplings=...,
hidden_units=h, hidden_layers=layers, flow_batch_norm=False)`, including its
`log_scale = tanh(raw)` bound (ours: `scale * tanh(raw)`).
"""
import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ["TFPRealNVP"]


class TFPRealNVP(keras.Model):
    """Vector Real NVP from `tfb.RealNVP` + `tfb.Permute`; `log_prob`, `sample`, `train_step`."""

    def __init__(self, dim, num_couplings=8, hidden_units=256, hidden_layers=2, dtype=None,
                 **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        self.dim = int(dim)
        masked = self.dim // 2
        self.nets = [keras.Sequential(
            [keras.layers.Input((masked,))]
            + [keras.layers.Dense(hidden_units, activation="relu", dtype=self.dtype_policy)
               for _ in range(hidden_layers)]
            + [keras.layers.Dense(2 * (self.dim - masked), kernel_initializer="zeros",
                                  dtype=self.dtype_policy)], name=f"net{k}")
            for k in range(num_couplings)]
        swap = np.concatenate([np.arange(masked, self.dim), np.arange(masked)]).astype(np.int32)
        bijectors = []
        for k, net in enumerate(self.nets):
            bijectors.append(tfb.RealNVP(num_masked=masked,
                                         shift_and_log_scale_fn=self._shift_and_log_scale(net),
                                         name=f"real_nvp{k}"))
            bijectors.append(tfb.Permute(swap, name=f"permute{k}"))
        flow_dtype = tf.as_dtype(self.dtype_policy.variable_dtype)
        zero = tf.zeros([], flow_dtype)
        self._holder = {"distribution": tfd.TransformedDistribution(
            tfd.Sample(tfd.Normal(zero, zero + 1.0), [self.dim]), tfb.Chain(bijectors[:-1]))}
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @staticmethod
    def _shift_and_log_scale(net):
        def fn(x, output_units):
            raw = tf.cast(net(x), x.dtype)  # flow arithmetic in float32 under mixed precision
            shift, log_scale = tf.split(raw, 2, axis=-1)
            return shift, tf.tanh(log_scale)
        return fn

    @property
    def distribution(self):
        return self._holder["distribution"]

    def log_prob(self, x, training=False):
        return self.distribution.log_prob(x)

    def sample(self, num_samples, seed=None):
        return self.distribution.sample(num_samples, seed=seed)

    def call(self, x, training=None):
        return self.log_prob(x)

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(self.log_prob(data))
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]
