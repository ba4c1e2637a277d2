"""Reading a run folder (the `--out DIR` of `tfnvp train`): `load_run` and what it rests on.

    DIR/config.json              the resolved config; "model_config" rebuilds the model
    DIR/checkpoints/best/ckpt.*  the weights of the best epoch on the validation loss
    DIR/checkpoints/latest/...   the last finished epoch (or the exact state of an interrupt)

The application (`tfnvp_training`) writes run folders; the library reads them, so a trained flow
is one call away in any program:

    model = tfnvp.load_run("runs/demo")        # tfnvp.RealNVP with its best weights
    model.log_prob(x); model.sample(16); model.export("exports/demo")

A checkpoint holds the model's weights as one list in construction order (`model_checkpoint`),
which is the same for every model built from the same config.
"""
import json
import os

__all__ = ["CHECKPOINT_KINDS", "checkpoint_folder", "find_checkpoint", "load_run",
           "model_checkpoint", "read_run_config", "restore_checkpoint"]

CONFIG_FILE = "config.json"
CHECKPOINT_KINDS = ("best", "latest")


def read_run_config(path):
    """The dict in `path/config.json`; `ValueError` if `path` is not a run folder."""
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise ValueError(f"{os.path.abspath(path)} is not a run folder: {config_path} is "
                         f"missing (expected the --out folder of 'tfnvp train').")
    with open(config_path) as f:
        return json.load(f)


def checkpoint_folder(path, kind):
    """`path/checkpoints/<kind>`, or the `.old` copy an interrupted save left; None if neither."""
    final = os.path.join(path, "checkpoints", kind)
    for folder in (final, f"{final}.old"):
        if os.path.isfile(os.path.join(folder, "ckpt.index")):
            return folder
    return None


def model_checkpoint(model, **others):
    """`tf.train.Checkpoint` of every weight of `model` (plus `others`: optimizer, counters).

    A Keras 3 model is not itself a checkpoint dependency (`tf.train.Checkpoint(model=model)`
    saves none of its weights: seen with TF 2.21 / Keras 3.15), so the weights are tracked as a
    list, in construction order. A model with dropout also saves its seed generators' states
    (`random_states`, not among `model.weights`), so a resumed run draws the masks the
    uninterrupted one would; models without dropout (every run saved before it) have none."""
    import tensorflow as tf
    states = random_states(model)
    return tf.train.Checkpoint(model_weights=list(model.weights),
                               **({"random_states": states} if states else {}), **others)


def random_states(model):
    """The state variables of the dropout layers' seed generators in `model`, in layer order."""
    import keras
    return [layer.seed_generator.state for layer in model._flatten_layers()
            if isinstance(layer, keras.layers.Dropout)]


def restore_checkpoint(checkpoint, folder, partial=False):
    """Reads `folder/ckpt` into `checkpoint`; `partial=True` when it holds only part of what was
    saved. `ValueError` naming the folder for unreadable or mismatched files."""
    import tensorflow as tf
    try:
        status = checkpoint.read(os.path.join(folder, "ckpt"))
    except (tf.errors.OpError, ValueError) as e:  # garbage or truncated files
        reason = (getattr(e, "message", None) or str(e)).strip().splitlines()[0]
        raise ValueError(f"checkpoint {folder} is unreadable (corrupt or truncated: {reason}); "
                         f"expected files written by 'tfnvp train'.") from None
    if partial:
        status.expect_partial()
    try:
        status.assert_existing_objects_matched()
    except AssertionError as e:
        raise ValueError(f"checkpoint {folder} does not match this model/config: "
                         f"{str(e).splitlines()[0]}") from None


def find_checkpoint(path, checkpoint="best"):
    """`(kind, folder)` of the checkpoint `load_run` reads: "best", or "latest" when the run
    has no best yet (no epoch finished with a validation loss) or `checkpoint="latest"`."""
    if checkpoint not in CHECKPOINT_KINDS:
        raise ValueError(f"`checkpoint` must be one of {CHECKPOINT_KINDS}, got {checkpoint!r}.")
    for kind in (checkpoint, "latest"):
        folder = checkpoint_folder(path, kind)
        if folder is not None:
            return kind, folder
    raise ValueError(f"missing checkpoint: {os.path.abspath(path)} has no "
                     f"checkpoints/{checkpoint}/ckpt.index (did 'tfnvp train' finish an epoch?).")


def load_run(path, checkpoint="best"):
    """The `tfnvp.RealNVP` of the run folder `path` with the weights of `checkpoint` ("best",
    falling back to "latest" when no epoch improved; or "latest"), ready for `log_prob`,
    `sample`, `encode`/`decode` and `export`."""
    config = read_run_config(path)
    _, folder = find_checkpoint(path, checkpoint)
    from tfnvp.model import RealNVP
    model = RealNVP.from_config(config["model_config"])
    restore_checkpoint(model_checkpoint(model), folder, partial=True)
    return model
