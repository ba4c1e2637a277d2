"""Start TensorFlow once, without its start-up noise on the console.

Importing TensorFlow (and TFP, which imports tf_keras, which loads TensorFlow's libraries a second
time) prints lines through absl before `TF_CPP_MIN_LOG_LEVEL` takes effect: "All log messages
before absl::InitializeLog() ...", "Could not find cuda drivers ...", "failed call to cuInit" on a
machine without a GPU, twice over. `start_tensorflow` imports everything the commands use with the
process's stderr (file descriptor 2, where C++ writes) captured, then gives back every captured
line that is not one of those (a real error still shows).
"""
import contextlib
import os
import sys
import tempfile

__all__ = ["NOISE", "start_tensorflow"]

NOISE = ("All log messages before absl::InitializeLog()", "cudart_stub.cc", "cuda_platform.cc",
         "cuda_executor.cc", "cpu_feature_guard.cc", "To enable the following instructions",
         "rebuild TensorFlow with the appropriate compiler flags", "TF-TRT Warning",
         "Unable to register cu", "computation_placer.cc", "oneDNN custom operations",
         "Attempting to register factory for plugin")


@contextlib.contextmanager
def _captured_stderr():
    """Redirects file descriptor 2 to a temporary file; yields a list filled with its lines."""
    lines = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines.extend(capture.read().decode(errors="replace").splitlines())


def start_tensorflow():
    """Imports TensorFlow, TFP and Keras and initialises the device list, quietly."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _captured_stderr() as lines:
        import keras  # noqa: F401
        import tensorflow as tf
        import tensorflow_probability  # noqa: F401
        tf.config.list_physical_devices("GPU")  # where cuInit complains without a GPU
    kept = [line for line in lines if not any(noise in line for noise in NOISE)]
    for line in kept:
        print(line, file=sys.stderr)
    return kept
