"""The tfnvp training application: the `tfnvp` command, and `train`, the one training path it
runs (run folders with checkpoints, early stopping, NaN recovery, logs, pictures; tf.distribute),
the experiment configs, and `CustomTrainer`, the loop on `fit`'s own step for strategies `fit`
cannot drive.

    from tfnvp_training import load_config, resolve_config, train
    config = resolve_config(load_config("digits"), {"epochs": 5})
    result = train(config, "runs/digits5")          # result["bits_per_dim"], result["model"]

Heavy imports (TensorFlow) happen on first use, so `tfnvp --help` stays fast.
"""
__all__ = ["CustomTrainer", "load_config", "resolve_config", "train"]

_HOMES = {"CustomTrainer": "loop", "train": "trainer", "load_config": "config",
          "resolve_config": "config"}


def __getattr__(name):  # lazy re-exports: importing the package must not import TensorFlow
    if name in _HOMES:
        import importlib
        return getattr(importlib.import_module(f"tfnvp_training.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'tfnvp_training' has no attribute {name!r}")
