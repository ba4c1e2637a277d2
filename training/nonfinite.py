"""Recover from a non-finite loss or weights: restore the last good weights, lower the lr, retry.

After each batch (each compiled call of `steps_per_execution` batches: Keras calls callbacks once
per call) the loss and the weights are checked (`find_non_finite`); on NaN/Inf in either the
model and optimizer variables are restored from the last in-memory snapshot (taken at train
begin, every `snapshot_every` good calls and at each good epoch end), lr <- lr * lr_factor, and
training goes on. After `max_retries` recoveries a NonFiniteLossError stops the run.

Both checks are needed, and which one trips first depends on the host: NaN weights do not always
give a NaN loss. In graph mode TensorFlow fuses MatMul + BiasAdd + Relu into one kernel, and on
CPUs with AVX-512 its ReLU maps NaN to 0 (seen on AMD Zen 5 and Intel Xeon hosts; eager mode, XLA
and AVX2 kernels propagate the NaN). A network with a NaN first-layer kernel then yields a finite
loss while its weights stay NaN, so the message says which of the two was found.
"""
import math

import keras
import numpy as np

from tfnvp_training.errors import TrainingStopped
from tfnvp_training.learning_rate import learning_rate_variable


class NonFiniteLossError(TrainingStopped, RuntimeError):
    """Training produced a non-finite loss or weights more than max_retries times (CLI exit
    status 1)."""


def _all_finite(arrays):
    return all(np.all(np.isfinite(a)) for a in arrays)


def find_non_finite(loss, named_weights):
    """What is wrong after a batch, as a phrase for a message; None when all is finite.

    `loss`: the batch's logged loss (None: not logged); `named_weights`: `(name, array)` pairs.
    A non-finite loss is reported first; otherwise the first weight holding NaN/Inf is named,
    with the (finite) loss beside it."""
    if loss is not None and not math.isfinite(float(loss)):
        return f"non-finite loss ({float(loss)})"
    for name, value in named_weights:
        if not np.all(np.isfinite(value)):
            shown = "not logged" if loss is None else f"{float(loss):.6g}"
            return f"non-finite weights (first: {name}) with a finite loss ({shown})"
    return None


class NonFiniteGuard(keras.callbacks.Callback):
    """Keras callback; `weights_are_good` tells a checkpoint callback it may save.

    `schedule`: the `ScaledSchedule` the optimizer's learning rate is, if it is one (its scale is
    what gets lowered; a plain learning rate is lowered directly)."""

    def __init__(self, max_retries=3, lr_factor=0.5, snapshot_every=100, schedule=None):
        super().__init__()
        if not 0.0 < lr_factor < 1.0:
            raise ValueError(f"lr_factor must be in (0, 1), got {lr_factor}")
        self.max_retries = max_retries
        self.lr_factor = lr_factor
        self.snapshot_every = snapshot_every
        self.schedule = schedule
        self.retries = 0
        self.last_good_weights = None
        self._last_good_optimizer = None
        self.weights_are_good = True
        self._good_batches = 0

    def _lr_variable(self):
        """The variable to lower: the learning rate, or the ScaledSchedule's scale."""
        return learning_rate_variable(self.model.optimizer, self.schedule)

    def _snapshot(self):
        weights = self.model.get_weights()
        if _all_finite(weights):
            self.last_good_weights = weights
            self._last_good_optimizer = [v.numpy() for v in self.model.optimizer.variables]
            self.weights_are_good = True

    def on_train_begin(self, logs=None):
        self._lr_variable()  # refuse an unlowerable schedule before training, not at the NaN
        self._snapshot()

    def on_epoch_end(self, epoch, logs=None):
        if self.weights_are_good:
            self._snapshot()

    def _named_weights(self):
        return ((w.path, w.numpy()) for w in self.model.weights)

    def on_train_batch_end(self, batch, logs=None):
        # A tfnvp model checks its steps inside the compiled step (one boolean to read); for
        # other models, and to name what went wrong, the loss and every weight are read here.
        # With `steps_per_execution` N this runs after every N steps (`batch` is the last).
        if hasattr(self.model, "steps_were_finite") and self.model.steps_were_finite():
            finding = None
        else:
            finding = find_non_finite((logs or {}).get("loss"), self._named_weights())
        if finding is None:
            self._good_batches += 1
            if self.snapshot_every and self._good_batches % self.snapshot_every == 0:
                self._snapshot()
            return
        self.weights_are_good = False
        self.retries += 1
        # optimizer.variables includes a variable learning rate: read it before restoring them
        lr = self._lr_variable()
        new_lr = float(lr.numpy()) * self.lr_factor
        self.model.set_weights(self.last_good_weights)
        for v, value in zip(self.model.optimizer.variables, self._last_good_optimizer):
            v.assign(value)
        self.weights_are_good = True
        if self.retries > self.max_retries:
            self.model.stop_training = True
            raise NonFiniteLossError(
                f"{finding} at batch {batch} after {self.max_retries} retries "
                f"(lr lowered by {self.lr_factor} each time); last good weights were kept")
        lr.assign(new_lr)
        for metric in self.model.metrics:  # running means would stay NaN for the epoch
            metric.reset_state()
        print(f"NonFiniteGuard: {finding} at batch {batch}; restored last good weights, learning "
              f"rate -> {float(np.asarray(self.model.optimizer.learning_rate)):.3g} "
              f"(retry {self.retries}/{self.max_retries})")
