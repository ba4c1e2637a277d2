"""Keras callbacks of a training run: checkpoints with early stopping, and sample grids."""
import math

import keras
import numpy as np
import tensorflow as tf

from training.pictures import image_grid
from training.run_folder import make_checkpoint

__all__ = ["RunCheckpoint", "SampleGrid"]


class RunCheckpoint(keras.callbacks.Callback):
    """After each epoch: writes `latest` (model, optimizer, epoch, step, early-stopping state)
    and, when the validation loss improves, `best`. Stops after `patience` epochs without
    improvement (0/None: never) and loads the best weights back at the end of training.

    `restore()` before `fit` resumes a run: it returns the epoch to pass as `initial_epoch`."""

    def __init__(self, run, patience=10, monitor="val_loss"):
        super().__init__()
        self.run = run
        self.patience = int(patience or 0)
        self.monitor = monitor
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.best = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best")
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False, name="wait")
        self.stopped_early = False

    def checkpoint(self):
        return make_checkpoint(self.model, optimizer=self.model.optimizer, epoch=self.epoch,
                               step=self.step, best_val_loss=self.best,
                               epochs_without_improvement=self.wait)

    def restore(self, model):
        """Loads `latest` into `model` and its (built) optimizer; returns the saved epoch."""
        self.set_model(model)
        model.optimizer.build(model.trainable_variables)  # slots must exist before restoring
        self.run.restore_checkpoint(self.checkpoint(), "latest")
        return int(self.epoch.numpy())

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor, logs.get("loss"))
        self.epoch.assign(epoch + 1)
        self.step.assign(tf.cast(self.model.optimizer.iterations, tf.int64))
        improved = value is not None and np.isfinite(value) and value < self.best.numpy()
        if improved:
            self.best.assign(float(value))
            self.wait.assign(0)
        else:
            self.wait.assign_add(1)
        checkpoint = self.checkpoint()
        if improved:
            self.run.save_checkpoint(checkpoint, "best")
        self.run.save_checkpoint(checkpoint, "latest")
        if self.patience and int(self.wait.numpy()) >= self.patience:
            self.stopped_early = True
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.run.has_checkpoint("best"):
            self.run.restore_weights(self.model, "best")


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
