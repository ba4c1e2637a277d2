"""The learning rate of a run: its schedule, the variable that lowers it, and the plateau policy.

    constant   lr
    cosine     lr * scale * cosine_decay(step / (epochs * steps_per_epoch))
    plateau    lr, halved after every `lr_patience` epochs without a better validation loss
               (the default: it needs no epoch budget, so it pairs with early stopping)

`NonFiniteGuard` and `PlateauDecay` lower the rate by multiplying one variable: the optimizer's
learning rate itself, or a `ScaledSchedule`'s `scale`. Both live in the run's checkpoint, so a
resumed run continues at the rate it stopped with.
"""
import keras

from tfnvp_training.config import LR_SCHEDULES

__all__ = ["LR_SCHEDULES", "PlateauDecay", "ScaledSchedule", "learning_rate_variable",
           "make_learning_rate"]

@keras.saving.register_keras_serializable("tfnvp")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`scale * schedule(step)`: a learning-rate schedule that can be lowered (a schedule's value
    is not a variable). `scale` is a variable: checkpoint it with the run."""

    def __init__(self, schedule, scale=1.0):
        self.schedule = schedule
        self.scale = keras.Variable(scale, dtype="float32", trainable=False, name="lr_scale")

    def __call__(self, step):
        return self.scale * self.schedule(step)

    def get_config(self):
        return {"schedule": keras.saving.serialize_keras_object(self.schedule),
                "scale": float(self.scale.numpy())}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config["schedule"]), config["scale"])


def make_learning_rate(config, steps_per_epoch):
    """`(learning_rate, schedule)` for `keras.optimizers.Adam(learning_rate)`: the float rate, or
    for "cosine" a `ScaledSchedule` (also returned as `schedule`, else None)."""
    if config["lr_schedule"] != "cosine":
        return config["lr"], None
    schedule = ScaledSchedule(keras.optimizers.schedules.CosineDecay(
        config["lr"], decay_steps=config["epochs"] * steps_per_epoch))
    return schedule, schedule


def learning_rate_variable(optimizer, schedule=None):
    """The variable whose value scales the rate: `schedule.scale` (a `ScaledSchedule`), else the
    optimizer's learning-rate variable."""
    if schedule is not None:
        return schedule.scale
    learning_rate = optimizer.learning_rate  # a plain schedule's value is a tensor
    if not isinstance(learning_rate, keras.Variable):
        raise TypeError("this learning-rate schedule cannot be lowered: wrap it in "
                        "ScaledSchedule and pass that as `schedule`.")
    return learning_rate


class PlateauDecay(keras.callbacks.Callback):
    """Multiplies the learning rate by `factor` whenever the run has gone `patience` more epochs
    without improving its validation loss (`state.wait` = 3, 6, 9, ... for patience 3).

    `state` is the run's `RunState`: the decision is a function of it alone, so a resumed run
    lowers the rate exactly when an uninterrupted one would."""

    def __init__(self, state, patience=3, factor=0.5, schedule=None):
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"`lr_factor` must lie in (0, 1), got {factor!r}.")
        self.state, self.patience, self.factor, self.schedule = state, int(patience), factor, \
            schedule

    def on_epoch_end(self, epoch, logs=None):
        self.state.end_epoch(epoch, logs)
        wait = int(self.state.wait.numpy())
        if self.patience and wait and wait % self.patience == 0:
            variable = learning_rate_variable(self.model.optimizer, self.schedule)
            variable.assign(variable * self.factor)
