"""Keras callbacks of a training run: checkpoints with early stopping, and sample grids."""
import math

import keras
import numpy as np
import tensorflow as tf

from tfnvp_training.pictures import image_grid
from tfnvp_training.run_folder import make_checkpoint

__all__ = ["RunCheckpoint", "SampleGrid"]


class RunCheckpoint(keras.callbacks.Callback):
    """After each epoch: writes `latest` (model, optimizer, epoch, step, early-stopping state)
    and, when the validation loss improves, `best`. Stops after `patience` epochs without
    improvement (0/None: never). Never writes weights that are not finite (nor while `guard`, a
    NonFiniteGuard, says they are bad): the last good checkpoint stays.

    The state is exact, so a run stopped between two batches continues as if never stopped:
    `epoch` is the epoch in progress (or the next one), `batch_in_epoch` the batches of it
    already trained on, and `train_metrics` the running means of its loss/nll/bits (Keras resets
    them at each epoch start: `on_epoch_begin` puts the saved ones back). `extra` holds more
    variables to save (e.g. a ScaledSchedule's `lr_scale`).

    `restore()` before `fit` resumes a run; then `epoch` / `batches_done` say where."""

    def __init__(self, run, patience=10, monitor="val_loss", guard=None, extra=None):
        super().__init__()
        self.run = run
        self.patience = int(patience or 0)
        self.monitor = monitor
        self.guard = guard
        self.extra = dict(extra or {})
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.batch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch_in_epoch")
        self.best = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best")
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False, name="wait")
        self.stopped_early = False
        self.batches_done = 0    # in the epoch in progress, counting those before a resume
        self._batch_offset = 0   # batches of the resumed epoch trained before the restart
        self._saved_metrics = None

    def checkpoint(self):
        metric_variables = [v for m in self.model.metrics for v in m.variables]
        return make_checkpoint(self.model, optimizer=self.model.optimizer, epoch=self.epoch,
                               step=self.step, best_val_loss=self.best,
                               epochs_without_improvement=self.wait, batch_in_epoch=self.batch,
                               train_metrics=metric_variables, **self.extra)

    def restore(self, model):
        """Loads `latest` into `model` and its (built) optimizer; returns the saved epoch."""
        self.set_model(model)
        model.optimizer.build(model.trainable_variables)  # slots must exist before restoring
        self.run.restore_checkpoint(self.checkpoint(), "latest")
        self.batches_done = self._batch_offset = int(self.batch.numpy())
        if self.batches_done:
            self._saved_metrics = [v.numpy() for m in model.metrics for v in m.variables]
        return int(self.epoch.numpy())

    def weights_are_finite(self):
        if self.guard is not None and not self.guard.weights_are_good:
            return False
        return all(bool(tf.reduce_all(tf.math.is_finite(w))) for w in self.model.weights
                   if tf.as_dtype(w.dtype).is_floating)

    def save(self, kind="latest"):
        """Writes checkpoint `kind` now; False (and nothing written) if a weight is not finite.
        The caller restores `best` after training (`RunFolder.restore_weights`)."""
        if not self.weights_are_finite():
            print(f"RunCheckpoint: weights are not finite; kept the previous '{kind}' checkpoint")
            return False
        self.step.assign(tf.cast(self.model.optimizer.iterations, tf.int64))
        self.batch.assign(self.batches_done)
        self.run.save_checkpoint(self.checkpoint(), kind)
        return True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch.assign(epoch)
        if self._saved_metrics is not None:  # the resumed epoch's running means so far
            for v, value in zip([v for m in self.model.metrics for v in m.variables],
                                self._saved_metrics):
                v.assign(value)
            self._saved_metrics = None

    def on_train_batch_end(self, batch, logs=None):
        self.batches_done = self._batch_offset + batch + 1

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor, logs.get("loss"))
        self.epoch.assign(epoch + 1)
        self.batches_done = self._batch_offset = 0
        improved = value is not None and np.isfinite(value) and value < self.best.numpy()
        if improved:
            self.best.assign(float(value))
            self.wait.assign(0)
        else:
            self.wait.assign_add(1)
        if improved:  # best first: a stop in between leaves `latest` on the epoch before
            self.save("best")
        self.save("latest")
        if self.patience and int(self.wait.numpy()) >= self.patience:
            self.stopped_early = True
            self.model.stop_training = True


class SampleGrid(keras.callbacks.Callback):
    """Writes a grid of `num` samples (fixed latent seed) to TensorBoard after each epoch."""

    def __init__(self, log_dir, num=36, temperature=1.0, seed=0):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)
        self.num, self.temperature, self.seed = num, temperature, seed

    def on_epoch_end(self, epoch, logs=None):
        samples = self.model.sample(self.num, temperature=self.temperature, seed=self.seed)
        grid = image_grid(samples.numpy(), self.model.levels)
        with self.writer.as_default():
            tf.summary.image(f"samples_T{self.temperature:g}", grid[None], step=epoch + 1)
        self.writer.flush()
