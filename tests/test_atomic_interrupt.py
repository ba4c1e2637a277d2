import os
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfnvp_training.atomic import atomic_checkpoint_save, atomic_write
from tfnvp_training.interrupt import StopOnSignal, graceful_interrupt
from tfnvp_training.run_folder import record_versions


def test_atomic_write_keeps_old_file_on_crash(tmp_path):
    path = tmp_path / "config.json"
    with atomic_write(path) as f:
        f.write("good")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write("half")
            raise RuntimeError("crash")
    assert path.read_text() == "good"
    assert os.listdir(tmp_path) == ["config.json"]


def test_checkpoint_survives_crash_mid_write(tmp_path, monkeypatch):
    v = tf.Variable(1.0)
    ckpt = tf.train.Checkpoint(v=v)
    prefix = atomic_checkpoint_save(ckpt, str(tmp_path), "latest")
    v.assign(2.0)

    def broken_write(path):
        open(path + ".index", "w").write("partial")
        raise OSError("disk full")
    monkeypatch.setattr(ckpt, "write", broken_write)
    with pytest.raises(OSError):
        atomic_checkpoint_save(ckpt, str(tmp_path), "latest")
    tf.train.Checkpoint(v=v).read(prefix).assert_consumed()
    assert float(v.numpy()) == 1.0
    assert sorted(os.listdir(tmp_path)) == ["latest"]


def test_record_versions():
    versions = record_versions()
    assert versions["tensorflow"] == tf.__version__
    assert set(versions) >= {"python", "tensorflow_probability", "keras", "tfnvp"}


def test_sigterm_stops_fit_after_batch_and_restores_handler():
    before = signal.getsignal(signal.SIGTERM)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen = []

    class Kill(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)
            if batch == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    x = np.zeros((40, 2), "float32")
    with graceful_interrupt() as flag:
        model.fit(x, x[:, :1], batch_size=4, epochs=3, verbose=0,
                  callbacks=[Kill(), StopOnSignal(flag)])
    assert flag.signum == signal.SIGTERM
    assert seen == [0, 1, 2]
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("signal_batch, batches_seen, epochs_ended", [(1, [0, 1], []),
                                                                      (4, [0, 1, 2, 3, 4], [0])])
def test_raise_interrupt_stops_after_the_batch_or_after_the_epochs_last_batch(
        signal_batch, batches_seen, epochs_ended):
    from tfnvp_training.interrupt import TrainingInterrupted
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen, ended = [], []

    class Kill(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)
            if batch == signal_batch:
                os.kill(os.getpid(), signal.SIGTERM)

        def on_epoch_end(self, epoch, logs=None):
            ended.append(epoch)

    x = np.zeros((20, 2), "float32")
    with graceful_interrupt() as flag, pytest.raises(TrainingInterrupted) as stop:
        model.fit(x, x[:, :1], batch_size=4, epochs=3, verbose=0,
                  callbacks=[Kill(), StopOnSignal(flag, raise_interrupt=True)])
    assert stop.value.exit_status == 128 + signal.SIGTERM and "SIGTERM" in str(stop.value)
    assert seen == batches_seen and ended == epochs_ended  # no empty epoch left to resume
