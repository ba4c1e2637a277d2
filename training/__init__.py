"""The tfnvp training application: the `tfnvp` command (train / evaluate / sample), run folders
with checkpoints, callbacks and pictures, the experiment configs, and a plain custom training
loop for users who do not use `fit`.

Heavy imports (TensorFlow) happen inside the functions, so `tfnvp --help` stays fast.
"""
__all__ = ["CustomTrainer", "load_config", "train"]


def __getattr__(name):  # lazy re-exports: importing `training` must not import TensorFlow
    if name in ("CustomTrainer", "train"):
        from tfnvp_training import loop
        return getattr(loop, name)
    if name == "load_config":
        from tfnvp_training.config import load_config
        return load_config
    raise AttributeError(f"module 'tfnvp_training' has no attribute {name!r}")
