"""Changes to the image flow that the ablation measures before tfnvp offers them as options.

(Dropout began here; it measured well on the digits and is now `RealNVP(dropout=...)`.)

Each is a context manager that swaps one piece of tfnvp's code for the run's duration (and puts it
back after), so a change costs no product option until the ablation shows it is worth one:

    no_net_bn        the s/t ResNets without batch norm (an identity where each BN was)
    no_weight_norm   the ResNets' convolutions without weight norm: kernel = g * v (g per output
                     channel, still zero-initialised on the last conv, so couplings start as the
                     identity), not g * v / ||v||
    scale_sigmoid    Glow's scale: s = log sigmoid(raw_s + 2), in (-inf, 0) (tfnvp: scale * tanh)
    warmup           the learning rate rises linearly from 0 over the first 2 epochs
    data_init        Salimans & Kingma's data-dependent initialisation: on the first training
                     batch each weight-normed convolution (but the zero-initialised last one)
                     sets g <- g / std, bias <- (bias - mean) / std from its outputs' per-channel
                     moments, so it starts at zero mean and unit variance on the data

Model construction reads the swapped code, so the trainer's rebuilt models (best epoch, test) use
it too: keep the whole run inside the context.
"""
import contextlib

__all__ = ["EXPERIMENTS", "experiment"]

WARMUP_EPOCHS = 2


@contextlib.contextmanager
def _swapped(owner, name, value):
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _no_net_bn():
    import keras

    from tfnvp.nets import resnet

    def identity(momentum, dtype, name):
        return keras.layers.Identity(dtype=dtype, name=name)
    return _swapped(resnet, "batch_norm", identity)


def _no_weight_norm():
    import tensorflow as tf

    from tfnvp.nets.weight_norm_conv import WeightNormConv2D

    def call(self, inputs):
        kernel = tf.cast(self.v, self.compute_dtype) * tf.cast(self.g, self.compute_dtype)
        outputs = tf.nn.conv2d(inputs, kernel, strides=1, padding="SAME")
        return outputs + tf.cast(self.bias, self.compute_dtype)
    return _swapped(WeightNormConv2D, "call", call)


def _scale_sigmoid():
    import tensorflow as tf

    from tfnvp.nets.scale_and_shift import ScaleAndShift

    def call(self, raw):
        raw = tf.cast(raw, self.variable_dtype)
        raw_s, t = tf.split(raw, 2, axis=-1)
        return tf.math.log_sigmoid(raw_s + 2.0), t
    return _swapped(ScaleAndShift, "call", call)


def _warmup():
    import keras

    from tfnvp_training import trainer
    from tfnvp_training.learning_rate import ScaledSchedule

    def make_learning_rate(config, steps_per_epoch):
        if config["lr_schedule"] == "cosine":
            raise ValueError("the warm-up experiment runs with the plateau or constant schedule")
        # CosineDecay with alpha=1 is flat after its linear warm-up; ScaledSchedule lets the
        # plateau policy lower it.
        schedule = ScaledSchedule(keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=1, alpha=1.0, warmup_target=config["lr"],
            warmup_steps=WARMUP_EPOCHS * steps_per_epoch))
        return schedule, schedule
    return _swapped(trainer, "make_learning_rate", make_learning_rate)


def _data_init():
    import keras
    import tensorflow as tf

    from tfnvp.nets.weight_norm_conv import WeightNormConv2D

    original_build, original_call = WeightNormConv2D.build, WeightNormConv2D.call

    def build(self, input_shape):
        original_build(self, input_shape)
        if not self.zero_init:
            # A weight (not trainable), so a restored checkpoint keeps its layers initialised.
            self.initialised = self.add_weight(name="initialised", shape=(), trainable=False,
                                               initializer="zeros")

    def call(self, inputs, training=None):
        outputs = original_call(self, inputs)
        if self.zero_init or not training:
            return outputs

        def initialise():
            # conv(x, g v/|v|) + b = y  ->  with g' = g/std, b' = (b - mean)/std: (y - mean)/std
            mean, variance = tf.nn.moments(outputs, axes=[0, 1, 2])
            scale = tf.math.rsqrt(variance + 1e-6)
            with tf.control_dependencies([
                    self.g.assign(self.g * tf.cast(scale, self.g.dtype)),
                    self.bias.assign((self.bias - tf.cast(mean, self.bias.dtype))
                                     * tf.cast(scale, self.bias.dtype)),
                    self.initialised.assign(1.0)]):
                return (outputs - mean) * scale
        done = keras.ops.convert_to_tensor(self.initialised) > 0.5
        return tf.cond(done, lambda: tf.identity(outputs), initialise)

    stack = contextlib.ExitStack()
    stack.enter_context(_swapped(WeightNormConv2D, "build", build))
    stack.enter_context(_swapped(WeightNormConv2D, "call", call))
    return stack


EXPERIMENTS = {"no_net_bn": _no_net_bn, "no_weight_norm": _no_weight_norm,
               "scale_sigmoid": _scale_sigmoid, "warmup": _warmup, "data_init": _data_init}


@contextlib.contextmanager
def experiment(names):
    """All experiments in `names` (an iterable of keys of `EXPERIMENTS`) for the block."""
    with contextlib.ExitStack() as stack:
        for name in names:
            if name not in EXPERIMENTS:
                raise ValueError(f"unknown experiment {name!r}; expected one of "
                                 f"{', '.join(EXPERIMENTS)}.")
            stack.enter_context(EXPERIMENTS[name]())
        yield
