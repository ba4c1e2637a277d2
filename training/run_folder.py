"""A run's folder (`--out DIR`) and its checkpoints.

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

__all__ = ["RunFolder", "make_checkpoint", "record_versions"]

CHECKPOINT_KINDS = ("best", "latest")


class RunFolder:
    def __init__(self, path):
        self.path = os.path.abspath(path)

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    @property
    def config_path(self):
        return self.file("config.json")

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
        _atomic_write_text(self.config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")

    def read_config(self):
        if not os.path.isfile(self.config_path):
            raise UsageError(f"{self.path} is not a run folder: {self.config_path} is missing "
                             f"(expected the --out folder of 'tfnvp train').")
        with open(self.config_path) as f:
            return json.load(f)

    def build_model(self):
        """The `RealNVP` described by this run's config.json (fresh weights)."""
        import tfnvp
        return tfnvp.RealNVP.from_config(self.read_config()["model_config"])

    # -------------------------------------------------------------- checkpoints

    def has_checkpoint(self, kind):
        return _checkpoint_dir(self.file("checkpoints", kind)) is not None

    def has_checkpoints(self):
        """True when the folder already holds a trained run (any checkpoint)."""
        return any(self.has_checkpoint(kind) for kind in CHECKPOINT_KINDS)

    def save_checkpoint(self, checkpoint, kind):
        """`checkpoint.write` into a temporary folder, then renamed to `checkpoints/<kind>`."""
        atomic_checkpoint_save(checkpoint, self.file("checkpoints"), kind)

    def restore_checkpoint(self, checkpoint, kind, partial=False):
        """Reads `checkpoints/<kind>` (or the `.old` copy left by an interrupted save) into
        `checkpoint`; `partial=True` when `checkpoint` holds only part of what was saved."""
        folder = _checkpoint_dir(self.file("checkpoints", kind))
        if folder is None:
            raise UsageError(f"no '{kind}' checkpoint in {self.path} (expected "
                             f"{self.file('checkpoints', kind)}/ckpt.index).")
        import tensorflow as tf
        try:
            status = checkpoint.read(os.path.join(folder, "ckpt"))
        except (tf.errors.OpError, ValueError) as e:  # garbage or truncated files
            reason = (getattr(e, "message", None) or str(e)).strip().splitlines()[0]
            raise UsageError(f"checkpoint {folder} is unreadable (corrupt or truncated: "
                             f"{reason}); expected files written by 'tfnvp train'.") from None
        if partial:
            status.expect_partial()
        try:
            status.assert_existing_objects_matched()
        except AssertionError as e:
            raise UsageError(f"checkpoint {folder} does not match this model/config: "
                             f"{str(e).splitlines()[0]}") from None
        return folder

    def restore_weights(self, model, kind="best"):
        """Only the model's variables from checkpoint `kind` (falls back to latest)."""
        if kind == "best" and not self.has_checkpoint("best"):
            kind = "latest"
        self.restore_checkpoint(make_checkpoint(model), kind, partial=True)
        return kind

    def load_trained_model(self, kind="best"):
        """`(model, kind_used)`: the model of config.json with the weights of checkpoint `kind`
        (best falls back to latest); what `evaluate`, `sample` and `export` start from."""
        self.read_config()
        if not self.has_checkpoint(kind) and not self.has_checkpoint("latest"):
            raise UsageError(f"missing checkpoint: {self.path} has no checkpoints/{kind}/"
                             f"ckpt.index (did 'tfnvp train' finish an epoch?).")
        model = self.build_model()
        return model, self.restore_weights(model, kind)


def make_checkpoint(model, **others):
    """`tf.train.Checkpoint` of every weight of `model` (plus `others`: optimizer, counters).

    A Keras 3 model is not itself a checkpoint dependency (`tf.train.Checkpoint(model=model)`
    saves none of its weights: seen with TF 2.21 / Keras 3.15), so the weights are tracked as a
    list, in construction order, which is the same for every model built from the same config."""
    import tensorflow as tf
    return tf.train.Checkpoint(model_weights=list(model.weights), **others)


def record_versions():
    """Versions of python, TF, TFP, keras and tfnvp, for the run folder."""
    import keras
    import tensorflow as tf
    import tensorflow_probability as tfp

    import tfnvp

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "tensorflow_probability": tfp.__version__, "keras": keras.__version__,
            "tfnvp": getattr(tfnvp, "__version__", "unknown")}


def _checkpoint_dir(final):
    for folder in (final, f"{final}.old"):
        if os.path.isfile(os.path.join(folder, "ckpt.index")):
            return folder
    return None


def _atomic_write_text(path, text):
    with atomic_write(path) as f:
        f.write(text)
