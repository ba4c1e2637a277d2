"""tfnvp's vector Real NVP trained by the real training path, on a set's own splits.

Each run writes the set's splits to an `.npz` (`train`, `validation`, `test`: `tfnvp.data.load`
keeps them) and calls `tfnvp_training.train(config, out)`, the function `tfnvp train` calls: the
same data pipeline, learning-rate policy, early stopping, best checkpoint restored and test
figure that a user gets from

    tfnvp train --data SET.npz [--config NAME] --out DIR

Runs (`RUNS`):
    zuko_settings        the issue's protocol (8 couplings, MLP 2x256, Adam 1e-3 constant,
                         batch 256, best of 60 epochs), flow batch norm on; the rest tfnvp's
                         model defaults
    zuko_settings_no_bn  the same, flow batch norm off
    defaults             `tfnvp train --data SET.npz` (only the data)
    NAME                 `tfnvp train --config NAME --data SET.npz` for the packaged vector
                         configs (`VECTOR_CONFIGS`: tabular, power, gas, hepmass, miniboone,
                         bsds300)
The tables' batch is capped at a quarter of their training rows (`batch_size_for`).
"""
import os
import tempfile
import time

import keras
import numpy as np

from benchmarks.peers import PROTOCOL, batch_size_for, examples_per_s
from tfnvp_training.config import default_batch_size, load_config, resolve_config

__all__ = ["RUNS", "VECTOR_CONFIGS", "EpochCurves", "run_settings", "train"]

VECTOR_CONFIGS = ("tabular", "power", "gas", "hepmass", "miniboone", "bsds300")
RUNS = ("zuko_settings", "zuko_settings_no_bn", "defaults", *VECTOR_CONFIGS)


def run_settings(run, data_path):
    """The resolved training config of `run` on the `.npz` at `data_path` (a dict like `tfnvp
    train`'s config.json)."""
    if run in ("zuko_settings", "zuko_settings_no_bn"):
        model = {"num_couplings": PROTOCOL["couplings"], "hidden_units": PROTOCOL["hidden_units"],
                 "hidden_layers": PROTOCOL["hidden_layers"],
                 "flow_batch_norm": run == "zuko_settings"}
        flags = {"epochs": PROTOCOL["epochs"], "lr": PROTOCOL["lr"], "lr_schedule": "constant",
                 "batch_size": PROTOCOL["batch_size"], "patience": 0, "data": data_path}
        return resolve_config({"model": model}, flags)
    if run == "defaults":
        return resolve_config({}, {"data": data_path})
    if run in VECTOR_CONFIGS:
        return resolve_config(load_config(run), {"data": data_path, "data_dir": None})
    raise ValueError(f"unknown tfnvp run {run!r}; expected one of {', '.join(RUNS)}.")


def train(data, run="defaults", seed=0, epochs=None, config=None, callbacks=(), folder=None):
    """Train tfnvp on `data` (a `RealData` of vectors) -> result dict (see `benchmarks.peers`).

    `config`: a dict of config keys (and `"model"` keywords) laid over `run_settings(run)`;
    `epochs` overrides the epochs; `callbacks`: extra Keras callbacks (diagnostics); `folder`:
    where the run folder goes (default: a temporary folder, deleted)."""
    from tfnvp_training import train as train_flow

    with tempfile.TemporaryDirectory(prefix="tfnvp-bench-") as scratch:
        folder = folder or scratch
        os.makedirs(folder, exist_ok=True)
        data_path = os.path.join(folder, f"{data.name}.npz")
        np.savez(data_path, train=data.train, validation=data.validation, test=data.test)
        settings = run_settings(run, data_path)
        overrides = dict(config or {})
        settings["model"].update(overrides.pop("model", {}))
        settings.update(overrides, seed=seed)
        settings["epochs"] = int(epochs or settings["epochs"])
        batch = settings["batch_size"] or default_batch_size(len(data.event_shape) == 3,
                                                             len(data.train))
        settings["batch_size"] = batch_size_for(len(data.train), batch)
        curves = EpochCurves()
        result = {"peer": "tfnvp", "run": run, "seed": seed, "batch_size": settings["batch_size"],
                  "config": {k: settings[k] for k in ("epochs", "batch_size", "lr",
                                                       "lr_schedule", "patience", "model")},
                  "error": None}
        keras.backend.clear_session()
        start = time.perf_counter()
        try:
            outcome = train_flow(settings, os.path.join(folder, f"{run}_seed{seed}"),
                                 overwrite=True, callbacks=[curves, *callbacks], verbose=0)
            result["test_nll"] = float(outcome["nll"])
        except Exception as error:  # a failed run is a row of the table, not the end of it
            result.update(test_nll=float("nan"), error=f"{type(error).__name__}: {error}")
        steps = len(data.train) // settings["batch_size"]
        val = np.asarray(curves.validation_loss, np.float64)
        finite = np.where(np.isfinite(val), val, np.inf)
        result.update(train_nll=curves.train_nll, validation_nll=curves.validation_nll,
                      epochs_run=len(curves.train_nll),
                      best_epoch=int(np.argmin(finite)) + 1 if np.isfinite(finite).any()
                      else None,
                      seconds=time.perf_counter() - start,
                      train_examples_per_s=examples_per_s(steps * settings["batch_size"],
                                                          curves.train_seconds))
    return result


class EpochCurves(keras.callbacks.Callback):
    """Per epoch: the training NLL (the epoch's mean over its batches, in training mode), the
    validation NLL and loss, and the seconds of the training steps (validation excluded)."""

    def __init__(self):
        super().__init__()
        self.train_nll, self.validation_nll, self.validation_loss = [], [], []
        self.train_seconds, self._tic = [], None

    def on_epoch_begin(self, epoch, logs=None):
        self._tic = time.perf_counter()

    def on_test_begin(self, logs=None):  # validation starts: the epoch's training steps are done
        if self._tic is not None:
            self.train_seconds.append(time.perf_counter() - self._tic)
            self._tic = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.train_nll.append(float(logs.get("nll", np.nan)))
        self.validation_nll.append(float(logs.get("val_nll", np.nan)))
        self.validation_loss.append(float(logs.get("val_loss", np.nan)))
