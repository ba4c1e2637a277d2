"""A run's folder (`--out DIR`), as the application writes it (`tfnvp.run` reads it).

    DIR/config.json        resolved config + the model's config + library versions
    DIR/checkpoints/latest the last finished epoch: model, optimizer, epoch, step, early-stop state
    DIR/checkpoints/best   the best epoch on the validation loss
    DIR/logs/              TensorBoard (scalars, sample grids)
    DIR/metrics.csv        one row per epoch
    DIR/samples.png        samples (image grid) or, for 2-D data, density | data | samples

Checkpoints are written atomically: into a temporary folder, then renamed over the old one, so
an interrupted run leaves the previous checkpoint readable.
"""
import json
import os
import platform

from tfnvp_training.atomic import atomic_checkpoint_save, atomic_write
from tfnvp_training.errors import UsageError

__all__ = ["RunFolder", "record_versions"]

CONFIG_FILE = "config.json"  # tfnvp.run.CONFIG_FILE: read without importing TensorFlow


def _library():
    """`tfnvp.run`, imported on first use (importing tfnvp imports TensorFlow: `--help` stays
    fast)."""
    from tfnvp import run
    return run


class RunFolder:
    def __init__(self, path):
        self.path = os.path.abspath(path)

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    @property
    def config_path(self):
        return self.file(CONFIG_FILE)

    @property
    def logs(self):
        return self.file("logs")

    @property
    def metrics_csv(self):
        return self.file("metrics.csv")

    @property
    def samples_png(self):
        return self.file("samples.png")

    # -------------------------------------------------------------- config

    def write_config(self, config):
        os.makedirs(self.path, exist_ok=True)
        with atomic_write(self.config_path) as f:
            f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")

    def read_config(self):
        try:
            return _library().read_run_config(self.path)
        except ValueError as e:
            raise UsageError(str(e)) from None

    # -------------------------------------------------------------- checkpoints

    def has_checkpoint(self, kind):
        return _library().checkpoint_folder(self.path, kind) is not None

    def has_checkpoints(self):
        """True when the folder already holds a trained run (any checkpoint)."""
        return any(self.has_checkpoint(kind) for kind in _library().CHECKPOINT_KINDS)

    def save_checkpoint(self, checkpoint, kind):
        """`checkpoint.write` into a temporary folder, then renamed to `checkpoints/<kind>`."""
        atomic_checkpoint_save(checkpoint, self.file("checkpoints"), kind)

    def restore_checkpoint(self, checkpoint, kind, partial=False):
        """Reads `checkpoints/<kind>` (or the `.old` copy left by an interrupted save) into
        `checkpoint`; `partial=True` when `checkpoint` holds only part of what was saved."""
        folder = _library().checkpoint_folder(self.path, kind)
        if folder is None:
            raise UsageError(f"no '{kind}' checkpoint in {self.path} (expected "
                             f"{self.file('checkpoints', kind)}/ckpt.index).")
        _library().restore_checkpoint(checkpoint, folder, partial=partial)
        return folder

    def restore_weights(self, model, kind="best"):
        """Only the model's variables from checkpoint `kind` (best falls back to latest)."""
        kind, folder = _library().find_checkpoint(self.path, kind)
        _library().restore_checkpoint(_library().model_checkpoint(model), folder, partial=True)
        return kind

    def load_trained_model(self, kind="best"):
        """`(model, kind_used)`: `tfnvp.load_run` of this folder, and which checkpoint it read
        (best falls back to latest); what `evaluate`, `sample` and `export` start from."""
        self.read_config()  # "not a run folder" before "missing checkpoint"
        kind_used, _ = _library().find_checkpoint(self.path, kind)
        return _library().load_run(self.path, kind), kind_used


def record_versions():
    """Versions of python, TF, TFP, keras and tfnvp, for the run folder."""
    import keras
    import tensorflow as tf
    import tensorflow_probability as tfp

    import tfnvp

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "tensorflow_probability": tfp.__version__, "keras": keras.__version__,
            "tfnvp": getattr(tfnvp, "__version__", "unknown")}
