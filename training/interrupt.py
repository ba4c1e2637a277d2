"""Turn SIGINT/SIGTERM into a flag so training stops after the current batch and saves."""
import contextlib
import signal

import keras


class InterruptFlag:
    """Set by the signal handler; `signum` names the signal received (None = not interrupted)."""

    def __init__(self):
        self.signum = None

    def __bool__(self):
        return self.signum is not None


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
    """Sets model.stop_training at the end of the batch in which a signal arrived."""

    def __init__(self, flag):
        super().__init__()
        self.flag = flag

    def on_train_batch_end(self, batch, logs=None):
        if self.flag:
            self.model.stop_training = True
