"""tfnvp's vector Real NVP trained the way `tfnvp train` trains it, on a set's own splits.

`tfnvp train --data FILE` splits a file at random; the real-data sets come with region-disjoint
splits, so this runner goes through the API with the CLI's pieces instead: the resolved config
(`tfnvp_training.config`), `tfnvp.data.batches` (shuffled, last partial batch dropped), Adam
with the config's clipping and learning-rate policy (`tfnvp_training.learning_rate`), the
non-finite guard, early stopping on `val_loss` with `patience`, the best epoch's weights (and
flow batch-norm statistics) restored, and `evaluate_split` for the test figure.

Runs (`RUNS`):
    zuko_settings        the issue's protocol (8 couplings, MLP 2x256, Adam 1e-3 constant,
                         batch 256, best of 60 epochs), flow batch norm on
    zuko_settings_no_bn  the same, flow batch norm off
    defaults             what `tfnvp train --data FILE` does (its DEFAULTS: batch 64, ...)
    tabular              `tfnvp train --config tabular --data FILE`
"""
import time

import keras
import numpy as np
import tensorflow as tf

import tfnvp
from benchmarks.peers import PROTOCOL, batch_size_for, examples_per_s
from tfnvp_training.config import load_config, resolve_config
from tfnvp_training.evaluation import evaluate_split
from tfnvp_training.learning_rate import learning_rate_variable, make_learning_rate
from tfnvp_training.nonfinite import NonFiniteGuard, NonFiniteLossError

__all__ = ["RUNS", "BestEpoch", "run_settings", "train"]

RUNS = ("zuko_settings", "zuko_settings_no_bn", "defaults", "tabular")


def run_settings(run):
    """The resolved training config of `run` (a dict like `tfnvp train`'s config.json)."""
    if run in ("zuko_settings", "zuko_settings_no_bn"):
        model = {"num_couplings": PROTOCOL["couplings"], "hidden_units": PROTOCOL["hidden_units"],
                 "hidden_layers": PROTOCOL["hidden_layers"],
                 "flow_batch_norm": run == "zuko_settings"}
        flags = {"epochs": PROTOCOL["epochs"], "lr": PROTOCOL["lr"], "lr_schedule": "constant",
                 "batch_size": PROTOCOL["batch_size"], "patience": 0, "model": model}
        return resolve_config({"data": "real data"}, flags)
    if run == "defaults":
        return resolve_config({}, {"data": "real data"})
    if run == "tabular":
        return resolve_config(load_config("tabular"), {"data": "real data"})
    raise ValueError(f"unknown tfnvp run {run!r}; expected one of {', '.join(RUNS)}.")


def train(data, run="zuko_settings", seed=0, epochs=None, config=None, callbacks=()):
    """Train tfnvp on `data` (a `RealData` of vectors) -> result dict (see `benchmarks.peers`).

    `config`: a resolved config to use instead of `run_settings(run)`; `epochs` overrides its
    epochs; `callbacks`: extra Keras callbacks (diagnostics)."""
    config = dict(config or run_settings(run))
    config["epochs"] = int(epochs or config["epochs"])
    batch = batch_size_for(len(data.train), config["batch_size"])
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = tfnvp.RealNVP(data.event_shape, None, **config["model"])
    steps = len(data.train) // batch
    learning_rate, schedule = make_learning_rate(config, steps)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate,
                                                  global_clipnorm=config["clip_norm"]),
                  jit_compile=bool(config["jit_compile"]))

    def split(array):
        return tf.data.Dataset.from_tensor_slices(np.asarray(array, np.float32))

    stream = tfnvp.data.batches(split(data.train), batch, levels=None, training=True, seed=seed,
                                epochs=(0, config["epochs"]))
    validation = tfnvp.data.batches(split(data.validation), batch, levels=None, training=False,
                                    seed=seed)
    plateau = config["lr_patience"] if config["lr_schedule"] == "plateau" else 0
    best = BestEpoch(config["patience"], lr_patience=plateau, schedule=schedule)
    guard = NonFiniteGuard(max_retries=config["max_nonfinite_retries"], schedule=schedule)
    result = {"peer": "tfnvp", "run": run, "seed": seed, "batch_size": batch, "error": None}
    start = time.perf_counter()
    try:
        history = model.fit(stream, validation_data=validation, epochs=config["epochs"],
                            steps_per_epoch=steps, callbacks=[guard, best, *callbacks],
                            shuffle=False, verbose=0)
        logs = history.history
    except NonFiniteLossError as error:
        logs, result["error"] = best.logs, str(error)
    result.update(train_nll=[float(v) for v in logs.get("nll", [])],
                  validation_nll=[float(v) for v in logs.get("val_nll", [])],
                  epochs_run=len(logs.get("nll", [])), best_epoch=best.best_epoch)
    if best.weights is None:
        result.update(test_nll=float("nan"), error=result["error"] or "no finite val_loss")
    else:
        model.set_weights(best.weights)
        result["test_nll"] = evaluate_split(model, split(data.test), batch_size=batch,
                                            seed=seed)["nll"]
    result.update(seconds=time.perf_counter() - start,
                  train_examples_per_s=examples_per_s(steps * batch, best.train_seconds))
    return result



class BestEpoch(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the lowest `val_loss` (as `tfnvp train`'s `best`
    checkpoint), stops after `patience` epochs without improvement (0: never), halves the
    learning rate after every `lr_patience` such epochs (the plateau policy; 0: never), and
    times each epoch's training steps apart from validation. `logs` collects the epoch logs."""

    def __init__(self, patience, lr_patience=0, schedule=None):
        super().__init__()
        self.patience, self.lr_patience = int(patience or 0), int(lr_patience or 0)
        self.schedule = schedule
        self.best, self.best_epoch, self.weights, self.wait = np.inf, None, None, 0
        self.logs, self.train_seconds, self._tic = {}, [], None

    def on_epoch_begin(self, epoch, logs=None):
        self._tic = time.perf_counter()

    def on_test_begin(self, logs=None):  # validation starts: the epoch's training steps are done
        if self._tic is not None:
            self.train_seconds.append(time.perf_counter() - self._tic)
            self._tic = None

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.logs.setdefault(key, []).append(value)
        value = (logs or {}).get("val_loss")
        if value is not None and np.isfinite(value) and value < self.best:
            self.best, self.best_epoch, self.wait = float(value), epoch + 1, 0
            self.weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.lr_patience and self.wait % self.lr_patience == 0:
                variable = learning_rate_variable(self.model.optimizer, self.schedule)
                variable.assign(variable * 0.5)
        if self.patience and self.wait >= self.patience:
            self.model.stop_training = True
