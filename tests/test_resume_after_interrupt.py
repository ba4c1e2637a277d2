"""`tfnvp train` stopped by SIGINT mid-epoch and resumed gives the run it would have given.

The data stream is a function of (seed, epoch, batch) only and the checkpoint holds the exact
state (weights, Adam, flow batch-norm statistics, epoch, batch in the epoch, global step, early
stopping, the epoch's running loss means), so with deterministic ops the resumed run's
metrics.csv and final weights equal an uninterrupted run's, bit for bit -- also when the resumed
run calls a different number of steps per compiled call (`--steps-per-execution`).
"""
import os
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from tfnvp_training.cli import build_parser, main
from tfnvp_training.interrupt import TrainingInterrupted
from tfnvp_training.run_folder import RunFolder
from tfnvp_training.train_command import config_from_args

# 8 batches per epoch, 2 per compiled call
TINY_DIGITS = ["--config", "digits", "--epochs", "2", "--batch-size", "160", "--eval-draws", "1",
               "--steps-per-execution", "2",
               "--no-jit", "--quiet", "--seed", "3", "--scales", "2",
               "--checkerboard-couplings", "1", "--channel-couplings", "1", "--final-couplings",
               "2", "--res-blocks", "1", "--filters", "8"]


@pytest.fixture
def deterministic_ops():
    tf.config.experimental.enable_op_determinism()
    yield
    tf_config.disable_op_determinism()  # not in the public API; keep other tests as they were


class SignalAt(keras.callbacks.Callback):
    """Sends `signum` to this process as batch `batch` of epoch `epoch` begins."""

    def __init__(self, epoch, batch, signum=signal.SIGINT):
        super().__init__()
        self.at, self.signum, self.epoch = (epoch, batch), signum, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            os.kill(os.getpid(), self.signum)


def _reader(out, kind="latest"):
    return tf.train.load_checkpoint(str(out / "checkpoints" / kind / "ckpt"))


def _model_weights(out, kind):
    reader = _reader(out, kind)
    names = sorted(n for n in reader.get_variable_to_shape_map() if n.startswith("model_weights/"))
    return [reader.get_tensor(n) for n in names]


def _metrics(out):
    rows = [r.split(",") for r in (out / "metrics.csv").read_text().strip().splitlines()]
    return rows[0], np.array(rows[1:], dtype=np.float64)


@pytest.mark.slow
def test_interrupted_and_resumed_run_equals_the_uninterrupted_run(tmp_path, capsys,
                                                                  deterministic_ops):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main(["train", "--out", str(whole), *TINY_DIGITS]) == 0

    # The same run through the library function, stopped by a signal from a callback.
    from tfnvp_training import train
    args = build_parser().parse_args(["train", "--out", str(parts), *TINY_DIGITS])
    # what the process had (Python's default, or SIG_IGN in a shell's background job)
    handler_before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as stopped:
        train(config_from_args(args, RunFolder(parts)), parts,
              callbacks=[SignalAt(epoch=0, batch=2)], verbose=0)  # a call of batches 2 and 3
    message = str(stopped.value)
    assert stopped.value.exit_status == 130  # 128 + SIGINT, after saving
    assert len(message.splitlines()) == 1
    assert "interrupted by SIGINT at epoch 1/2, batch 4/8" in message
    assert f"tfnvp train --out {parts} --resume" in message
    reader = _reader(parts)
    assert int(reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE")) == 0
    assert int(reader.get_tensor("batch_in_epoch/.ATTRIBUTES/VARIABLE_VALUE")) == 4
    assert int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) == 4
    csv = parts / "metrics.csv"
    assert not csv.exists() or len(csv.read_text().strip().splitlines()) <= 1  # no partial row
    assert signal.getsignal(signal.SIGINT) is handler_before  # handler given back

    # 3 per call at most: the epoch's last 4 batches one by one, then 2 per call (divisors of 8)
    status = main(["train", "--out", str(parts), "--resume", "--quiet",
                   "--steps-per-execution", "3"])
    assert status == 0
    assert "(batch 4 of 8 of that epoch)" in capsys.readouterr().out

    header, resumed = _metrics(parts)
    assert header == _metrics(whole)[0] and {"loss", "val_loss"} <= set(header)
    np.testing.assert_array_equal(resumed, _metrics(whole)[1])  # loss, nll, val_loss, ... exact
    for kind in ("latest", "best"):
        for a, b in zip(_model_weights(parts, kind), _model_weights(whole, kind), strict=True):
            np.testing.assert_array_equal(a, b)
    assert int(_reader(parts).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) == 16
