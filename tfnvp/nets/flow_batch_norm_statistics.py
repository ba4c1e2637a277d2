"""The state of a flow-path batch norm (`tfnvp.bijectors.BatchNorm`), owned by Keras.

Keras does not see variables held by a tf.Module such as a bijector, so the model creates this
layer and the bijector borrows it. It is never called; it only holds:

    moving_mean [C] (init 0), moving_variance [C] (init 1)    non-trainable, float32
    momentum, epsilon                                           constants
"""
import keras

__all__ = ["FlowBatchNormStatistics", "check_momentum"]


def check_momentum(momentum):
    """`momentum` as a float in [0, 1) (the weight of the old average), else a ValueError."""
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"batch-norm momentum must lie in [0, 1), got {momentum!r}.")
    return float(momentum)


@keras.saving.register_keras_serializable("tfnvp")
class FlowBatchNormStatistics(keras.layers.Layer):
    def __init__(self, features, momentum=0.99, epsilon=1e-4, **kwargs):
        super().__init__(**kwargs)
        if epsilon <= 0:
            raise ValueError(f"batch-norm epsilon must be > 0, got {epsilon!r}.")
        self.features = int(features)
        self.momentum = check_momentum(momentum)
        self.epsilon = float(epsilon)
        # Never autocast (a mixed-precision model's call reads variables in bfloat16 otherwise):
        # the statistics are flow arithmetic, float32.
        self.moving_mean = self.add_weight(name="moving_mean", shape=(self.features,),
                                           initializer="zeros", trainable=False, autocast=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(self.features,),
                                               initializer="ones", trainable=False,
                                               autocast=False)
        self.built = True

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {**super().get_config(), "features": self.features, "momentum": self.momentum,
                "epsilon": self.epsilon}
