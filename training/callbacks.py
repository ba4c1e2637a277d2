"""Keras callbacks of a training run, and the state they share.

    RunState          epoch, step, batch in the epoch, best validation loss, epochs without
                      improvement: variables saved with every checkpoint
    CheckpointSaver   `latest` after every epoch, `best` when the validation loss improved
    EarlyStopping     stops after `patience` epochs without improvement
    EpochLog          one plain line per epoch (logs, pipes, --quiet)
    SampleGrid        a grid of samples in TensorBoard after every epoch

Each callback that needs to know whether an epoch improved asks `RunState.end_epoch`, which
decides once per epoch whoever asks first, so the callbacks' order does not matter.
"""
import math
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfnvp.run import model_checkpoint
from tfnvp_training.pictures import image_grid

__all__ = ["CheckpointSaver", "EarlyStopping", "EpochLog", "RunState", "SampleGrid"]


class RunState:
    """Where a run is, as variables (checkpointed with the model and the optimizer).

    `epoch` is the epoch in progress (or the next one), `batch` the batches of it already trained
    on, `step` the optimizer's iterations at the last save, `best` the best validation loss so
    far, `wait` the epochs since it improved. `end_epoch(epoch, logs)` updates `best`/`wait` for
    `epoch` once (later calls for the same epoch return the same answer)."""

    def __init__(self, monitor="val_loss"):
        self.monitor = monitor
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.batch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch_in_epoch")
        self.best = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best")
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False, name="wait")
        self._decided = {}  # epoch -> improved

    def checkpoint_items(self):
        """The variables as `tf.train.Checkpoint` keyword arguments (names kept from the first
        checkpoint format, so older run folders still resume)."""
        return dict(epoch=self.epoch, step=self.step, best_val_loss=self.best,
                    epochs_without_improvement=self.wait, batch_in_epoch=self.batch)

    def end_epoch(self, epoch, logs):
        """True when `epoch` improved the monitored value (decided once per epoch)."""
        if epoch not in self._decided:
            logs = logs or {}
            value = logs.get(self.monitor, logs.get("loss"))
            improved = value is not None and np.isfinite(value) and value < self.best.numpy()
            if improved:
                self.best.assign(float(value))
                self.wait.assign(0)
            else:
                self.wait.assign_add(1)
            self._decided = {epoch: improved}
        return self._decided[epoch]


class CheckpointSaver(keras.callbacks.Callback):
    """After each epoch: writes `latest` (model, optimizer, run state, `extra`) and, when the
    epoch improved the validation loss, `best` first. Never writes weights that are not finite
    (nor while `guard`, a NonFiniteGuard, says they are bad): the last good checkpoint stays.

    The state is exact, so a run stopped between two batches continues as if never stopped;
    `train_metrics` holds the epoch's running means (Keras resets them at each epoch start:
    `on_epoch_begin` puts the saved ones back after a mid-epoch resume). `restore()` before
    `fit` resumes a run; then `state.epoch` / `batches_done` say where. `write_folder` is where
    checkpoints go (a non-chief worker's temporary folder), `run` the folder restored from."""

    def __init__(self, run, state, guard=None, extra=None, write_folder=None):
        super().__init__()
        self.run, self.state, self.guard = run, state, guard
        self.write_folder = write_folder or run
        self.extra = dict(extra or {})
        self.batches_done = 0    # in the epoch in progress, counting those before a resume
        self._batch_offset = 0   # batches of the resumed epoch trained before the restart
        self._saved_metrics = None

    def _metric_variables(self):
        return [v for m in self.model.metrics for v in m.variables]

    def checkpoint(self):
        return model_checkpoint(self.model, optimizer=self.model.optimizer,
                                train_metrics=self._metric_variables(),
                                **self.state.checkpoint_items(), **self.extra)

    def restore(self, model):
        """Loads `latest` into `model` and its optimizer, whose slots must already be built
        (`train` builds them before any trace); returns the saved epoch."""
        self.set_model(model)
        self.run.restore_checkpoint(self.checkpoint(), "latest")
        self.batches_done = self._batch_offset = int(self.state.batch.numpy())
        if self.batches_done:
            self._saved_metrics = [v.numpy() for v in self._metric_variables()]
        return int(self.state.epoch.numpy())

    def weights_are_finite(self):
        if self.guard is not None and not self.guard.weights_are_good:
            return False
        return all(bool(tf.reduce_all(tf.math.is_finite(w))) for w in self.model.weights
                   if tf.as_dtype(w.dtype).is_floating)

    def save(self, kind="latest"):
        """Writes checkpoint `kind` now; False (and nothing written) if a weight is not finite."""
        if not self.weights_are_finite():
            print(f"CheckpointSaver: weights are not finite; kept the previous '{kind}' "
                  f"checkpoint", file=sys.stderr)
            return False
        self.state.step.assign(tf.cast(self.model.optimizer.iterations, tf.int64))
        self.state.batch.assign(self.batches_done)
        self.write_folder.save_checkpoint(self.checkpoint(), kind)
        return True

    def on_epoch_begin(self, epoch, logs=None):
        self.state.epoch.assign(epoch)
        if self._saved_metrics is not None:  # the resumed epoch's running means so far
            for v, value in zip(self._metric_variables(), self._saved_metrics):
                v.assign(value)
            self._saved_metrics = None

    def on_train_batch_end(self, batch, logs=None):
        self.batches_done = self._batch_offset + batch + 1

    def on_epoch_end(self, epoch, logs=None):
        improved = self.state.end_epoch(epoch, logs)
        self.state.epoch.assign(epoch + 1)
        self.batches_done = self._batch_offset = 0
        if improved:  # best first: a stop in between leaves `latest` on the epoch before
            self.save("best")
        self.save("latest")


class EarlyStopping(keras.callbacks.Callback):
    """Stops training after `patience` epochs without a better validation loss (0: never)."""

    def __init__(self, state, patience=10):
        super().__init__()
        self.state, self.patience = state, int(patience or 0)
        self.stopped_early = False

    @property
    def exhausted(self):
        """True when the run has already waited `patience` epochs (a resumed run stops too)."""
        return bool(self.patience) and int(self.state.wait.numpy()) >= self.patience

    def on_epoch_end(self, epoch, logs=None):
        self.state.end_epoch(epoch, logs)
        if self.exhausted:
            self.stopped_early = True
            self.model.stop_training = True


class EpochLog(keras.callbacks.Callback):
    """One line per epoch, `epoch 3/40  loss 2.1013  ...  val_loss 2.0988 (best)  lr 0.001  12s`:
    what a log file or a pipe should hold instead of progress bars."""

    def __init__(self, state, epochs, file=None, schedule=None):
        super().__init__()
        self.state, self.epochs, self.file, self.schedule = state, epochs, file, schedule
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        improved = self.state.end_epoch(epoch, logs)
        logs = logs or {}
        parts = [f"epoch {epoch + 1}/{self.epochs}"]
        parts += [f"{name} {logs[name]:.4f}" for name in sorted(logs, key=_order) if
                  isinstance(logs[name], (int, float, np.floating))]
        if improved:
            parts[-1] += " (best)"
        lr = self.model.optimizer.learning_rate
        if self.schedule is not None:
            lr = self.schedule(self.model.optimizer.iterations)
        parts.append(f"lr {float(np.asarray(lr)):.3g}")
        parts.append(f"{time.perf_counter() - (self._start or time.perf_counter()):.0f}s")
        print("  ".join(parts), file=self.file or sys.stdout, flush=True)


def _order(name):
    """Training metrics first, then validation ones; loss first in each."""
    base = name[4:] if name.startswith("val_") else name
    return (name.startswith("val_"), base != "loss", base)


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
