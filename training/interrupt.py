"""Turn SIGINT/SIGTERM into a flag so training stops after the current batch and saves."""
import contextlib
import signal

import keras

from tfnvp_training.errors import TrainingStopped


class InterruptFlag:
    """Set by the signal handler; `signum` names the signal received (None = not interrupted)."""

    def __init__(self):
        self.signum = None

    def __bool__(self):
        return self.signum is not None


class TrainingInterrupted(TrainingStopped):
    """A signal stopped training between two batches. Exit status 128 + signal number (130 for
    SIGINT, 143 for SIGTERM), as a shell reports a process stopped by that signal."""

    def __init__(self, signum, message=None):
        self.signum = signum
        self.exit_status = 128 + int(signum)
        super().__init__(message or f"interrupted by {signal.Signals(signum).name}")


@contextlib.contextmanager
def graceful_interrupt(signals=(signal.SIGINT, signal.SIGTERM)):
    """Context manager yielding an InterruptFlag; previous handlers are restored on exit."""
    flag = InterruptFlag()
    previous = {s: signal.getsignal(s) for s in signals}

    def handler(signum, frame):
        flag.signum = signum

    for s in signals:
        signal.signal(s, handler)
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class StopOnSignal(keras.callbacks.Callback):
    """Stops `fit` at the end of the batch in which a signal arrived.

    By default it sets `model.stop_training` (Keras then still validates and ends the epoch).
    With `raise_interrupt=True` it raises `TrainingInterrupted` instead, leaving the state exactly
    as it is after that batch (no validation, no epoch end): the caller saves it for `--resume`.
    A signal in an epoch's last batch lets that epoch end (validation, its checkpoint) and stops
    before the next epoch's first batch, so a resumed run never has an empty epoch left."""

    def __init__(self, flag, raise_interrupt=False):
        super().__init__()
        self.flag = flag
        self.raise_interrupt = raise_interrupt

    def _stop(self):
        if self.raise_interrupt:
            raise TrainingInterrupted(self.flag.signum)
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        if self.flag and self.raise_interrupt:
            self._stop()

    def on_train_batch_end(self, batch, logs=None):
        last_batch = self.raise_interrupt and batch + 1 >= (self.params.get("steps") or 0) > 0
        if self.flag and not last_batch:
            self._stop()
