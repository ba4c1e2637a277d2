"""`python -m benchmarks.image_ablation [--sets ...] [--variants ...] [--seeds N]`: what each
change to the image flow is worth, one change at a time against `tfnvp train`'s defaults, on
held-out real images at a fixed budget.

Sets (`SETS`): `patches8` / `patches16` (grey patches of scikit-image's photographs, 256 levels,
region-disjoint train/validation/test, `benchmarks.real_data`) and `digits` (scikit-learn's 8x8
digits, 17 levels, 360 test digits, drawn by the seed as in `tfnvp train`). Budgets are the
image-quality issue's: 30 epochs on the patches, 40 on the digits. Every run is

    tfnvp train --data SET --levels L --epochs E [the variant's settings]

through `tfnvp_training.train` (best validation epoch restored, test bits/dim over 4
dequantisation draws). Writes DIR/image_ablation.json (every run, with its validation curve)
and DIR/image_ablation.md after every run, so a stopped run keeps what it did.
"""
import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

__all__ = ["BUDGETS", "SETS", "VARIANTS", "main", "run_one", "summarise"]

SETS = ("patches8", "patches16", "digits")
BUDGETS = {"patches8": 30, "patches16": 30, "digits": 40}  # epochs (the protocol)

# name -> (what changes, config keys laid over the defaults; "model" holds RealNVP arguments)
VARIANTS = {
    "defaults": ("`tfnvp train` defaults", {}),
    "net_bn_0.99": ("s/t ResNet batch-norm momentum 0.99 (Keras' default; tfnvp before issue 18)",
                    {"model": {"net_batch_norm_momentum": 0.99}}),
    "flow_bn_0.9": ("flow-path batch-norm momentum 0.9 (default 0.99)",
                    {"model": {"batch_norm_momentum": 0.9}}),
    "no_flow_bn": ("no batch norm in the flow path", {"model": {"flow_batch_norm": False}}),
    "widen": ("ResNet width doubled after the squeeze (the paper's code; the default from "
              "4,000 training images, so the patches; not the digits)",
              {"model": {"widen_after_squeeze": True}}),
    "no_widen": ("ResNet width kept after the squeeze (image files before issue 18)",
                 {"model": {"widen_after_squeeze": False}}),
    "filters_64": ("64 feature maps (default 32 at <= 16x16)", {"model": {"num_filters": 64}}),
    "cosine": ("cosine learning-rate decay over the budget (default: plateau halving)",
               {"lr_schedule": "cosine"}),
    "no_l2": ("no L2 on the scale parameters (default 5e-5)", {"model": {"l2": 0.0}}),
    "lr_5e-4": ("learning rate 5e-4 (default 1e-3)", {"lr": 5e-4}),
    "lr_2e-3": ("learning rate 2e-3 (the image default since these runs; 1e-3 before)",
                {"lr": 2e-3}),
    "lr_1e-3": ("learning rate 1e-3 (the image default before these runs)", {"lr": 1e-3}),
    "jit": ("XLA-compiled steps (same model; speed only)", {"jit_compile": True}),
    "flip": ("random horizontal flips of the training images (the default for image files "
             "that look mirror-symmetric, so the patches; not the digits)",
             {"horizontal_flip": True}),
    "no_flip": ("no horizontal flips (image files before issue 18)",
                {"horizontal_flip": False}),
    "ema_0.999": ("validation and test with an exponential moving average of the weights "
                  "(decay 0.999 after a warm-up)",
                  {"weight_average": 0.999, "steps_per_execution": 1}),
    "ema_0.99": ("validation and test with an exponential moving average of the weights "
                 "(decay 0.99 after a warm-up)",
                 {"weight_average": 0.99, "steps_per_execution": 1}),
    # changes tfnvp has no option for: `benchmarks.ablation_experiments`
    "no_net_bn": ("no batch norm in the s/t ResNets", {"experiment": ["no_net_bn"]}),
    "no_weight_norm": ("no weight norm in the s/t ResNets (kernel = g v, g still zero-initialised "
                       "on the last conv)", {"experiment": ["no_weight_norm"]}),
    "scale_sigmoid": ("Glow's scale s = log sigmoid(raw + 2) (default scale * tanh(raw))",
                      {"experiment": ["scale_sigmoid"]}),
    "warmup": ("learning rate warmed up linearly over the first 2 epochs",
               {"experiment": ["warmup"]}),
    "data_init": ("data-dependent initialisation of the weight-normed convolutions (Salimans & "
                  "Kingma 2016) on the first training batch", {"experiment": ["data_init"]}),
    "dropout": ("dropout 0.2 inside each residual block, in training (the default below "
                "4,000 training images, so the digits; not the patches)",
                {"model": {"dropout": 0.2}}),
    "no_dropout": ("no dropout (image flows before issue 18)", {"model": {"dropout": 0.0}}),
}


def variant_settings(variant):
    """`(config keys, model keys)` of `variant`: a name of `VARIANTS`, or names joined by "+"
    (their changes together, e.g. "widen+cosine")."""
    overrides, model = {}, {}
    for part in variant.split("+"):
        if part not in VARIANTS:
            raise ValueError(f"unknown variant {part!r}; expected names of {', '.join(VARIANTS)} "
                             f"joined by '+'.")
        settings = json.loads(json.dumps(VARIANTS[part][1]))  # a deep copy
        model.update(settings.pop("model", {}))
        overrides["experiment"] = overrides.get("experiment", []) + settings.pop("experiment", [])
        overrides.update(settings)
    return overrides, model


def describe(variant):
    return " + ".join(VARIANTS[part][0] for part in variant.split("+"))


def run_one(name, variant, seed, epochs=None, folder=None):
    """Train variant `variant` on set `name` -> a result dict (test bits/dim, curves, time)."""
    import keras

    from benchmarks import real_data
    from benchmarks.ablation_experiments import experiment
    from benchmarks.peers.tfnvp_realnvp import EpochCurves
    from tfnvp_training import train as train_flow
    from tfnvp_training.config import resolve_config

    overrides, model = variant_settings(variant)
    extra = {k: overrides.pop(k) for k in ("weight_average", "experiment") if k in overrides}
    epochs = int(epochs or BUDGETS[name])
    with tempfile.TemporaryDirectory(prefix="tfnvp-ablation-") as scratch:
        folder = folder or scratch
        if name == "digits":
            data = "digits"
        else:
            sets = real_data.load(name)
            data = os.path.join(folder, f"{name}.npz")
            np.savez(data, train=sets.train, validation=sets.validation, test=sets.test)
        settings = resolve_config({}, {"data": data, "levels": None if name == "digits" else 256,
                                       "epochs": epochs, "seed": seed, **overrides}, model)
        curves = EpochCurves()
        averaging = [WeightAverage(extra["weight_average"])] if "weight_average" in extra else []
        result = {"set": name, "variant": variant, "seed": seed, "epochs": epochs,
                  "config": {k: settings[k] for k in ("lr", "lr_schedule", "batch_size",
                                                       "patience", "model")}, "error": None}
        keras.backend.clear_session()
        tic = time.perf_counter()
        try:
            with experiment(extra["experiment"]):
                outcome = train_flow(settings, os.path.join(folder, f"{variant}_seed{seed}"),
                                     overwrite=True, callbacks=[curves, *averaging], verbose=0)
            result["bits_per_dim"] = float(outcome["bits_per_dim"])
            result["config"]["lr"] = settings["lr"]  # a default the trainer resolved
            result["parameters"] = int(outcome["model"].count_params())
        except Exception as error:  # a failed run is a row of the table, not the end of it
            result.update(bits_per_dim=float("nan"), error=f"{type(error).__name__}: {error}")
        val = np.asarray(curves.validation_loss, np.float64)
        result.update(seconds=time.perf_counter() - tic, validation_nll=curves.validation_nll,
                      train_nll=curves.train_nll, epochs_run=len(val),
                      best_epoch=int(np.nanargmin(val)) + 1 if np.isfinite(val).any() else None,
                      train_seconds=float(np.sum(curves.train_seconds)))
    return result


def WeightAverage(decay):
    """A Keras callback (experimental, for the ablation): keeps an exponential moving average of
    the trainable weights, avg <- d avg + (1 - d) w with d = min(decay, (1 + t) / (10 + t)) after
    step t, and swaps it in for each validation pass; the trainer's checkpoint saver (which runs
    before this callback at the epoch's end) thus saves the averaged weights, so "best" and the
    test figure use them. Batch-norm moving statistics are left as training computed them. It
    updates once per callback call, so its variants train one batch per call
    (`steps_per_execution` 1; the measured EMA run predates batches per call)."""
    import keras
    import tensorflow as tf

    class _WeightAverage(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            weights = self.model.trainable_variables
            self._average = [tf.Variable(w, trainable=False) for w in weights]
            self._saved = [tf.Variable(w, trainable=False) for w in weights]
            self._step = tf.Variable(0.0, dtype=tf.float32)

            @tf.function
            def update():
                self._step.assign_add(1.0)
                d = tf.minimum(decay, (1.0 + self._step) / (10.0 + self._step))
                for a, w in zip(self._average, weights):
                    a.assign(d * a + (1.0 - d) * tf.cast(w, a.dtype))
            self._update = update

        def on_train_batch_end(self, batch, logs=None):
            self._update()

        def on_test_begin(self, logs=None):
            for s, a, w in zip(self._saved, self._average, self.model.trainable_variables):
                s.assign(w)
                w.assign(a)

        def on_epoch_end(self, epoch, logs=None):
            for s, w in zip(self._saved, self.model.trainable_variables):
                w.assign(s)

    return _WeightAverage()


def summarise(results):
    """Rows (set, variant): mean/std bits/dim over the seeds and the change against defaults."""
    groups = {}
    for r in results:
        groups.setdefault((r["set"], r["variant"]), []).append(r)
    rows = []
    for (name, variant), group in groups.items():
        bits = [r["bits_per_dim"] for r in group if np.isfinite(r["bits_per_dim"])]
        rows.append({"set": name, "variant": variant, "seeds": len(group),
                     "failed": len(group) - len(bits),
                     "mean": float(np.mean(bits)) if bits else float("nan"),
                     "std": float(np.std(bits)) if bits else float("nan"),
                     "best_epoch": float(np.mean([r["best_epoch"] or 0 for r in group])),
                     "parameters": group[0].get("parameters"),
                     "seconds": float(np.mean([r["seconds"] for r in group]))})
    base = {r["set"]: r["mean"] for r in rows if r["variant"] == "defaults"}
    for r in rows:
        r["change"] = r["mean"] - base[r["set"]] if r["set"] in base else float("nan")
    return rows


def format_table(rows):
    lines = ["| set | variant | test bits/dim (mean +- std) | vs defaults | seeds | best epoch | "
             "parameters | time per run (s) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        failed = f" ({r['failed']} failed)" if r["failed"] else ""
        lines.append(f"| {r['set']} | {describe(r['variant'])} | {r['mean']:.4f} +- "
                     f"{r['std']:.4f} | {r['change']:+.4f} | {r['seeds']}{failed} | "
                     f"{r['best_epoch']:.1f} | {r['parameters'] or ''} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.image_ablation",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["patches8", "digits"], choices=SETS)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS),
                        help="names of VARIANTS, or names joined by '+' (default: each alone)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None,
                        help="override the budget (default: 30 on patches, 40 on digits)")
    parser.add_argument("--out", default="bench-results", help="folder for image_ablation.json")
    args = parser.parse_args(argv)
    for variant in args.variants:
        try:
            variant_settings(variant)
        except ValueError as error:
            parser.error(str(error))

    from benchmarks.run import machine_info
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "image_ablation.json")
    report = {"machine": machine_info(), "results": []}
    for name in args.sets:
        for seed in args.seeds:  # seed-major: a stopped run has every variant at seed 0
            for variant in args.variants:
                result = run_one(name, variant, seed, args.epochs)
                report["results"].append(result)
                print(f"{name} {variant:16s} seed {seed}: {result['bits_per_dim']:.4f} bits/dim"
                      f"  best epoch {result['best_epoch']}/{result['epochs_run']}  "
                      f"{result['seconds']:.0f} s"
                      + (f"  ERROR {result['error']}" if result["error"] else ""), flush=True)
                report["summary"] = summarise(report["results"])
                with open(path, "w") as f:
                    json.dump(report, f, indent=1)
                with open(os.path.join(args.out, "image_ablation.md"), "w") as f:
                    f.write(f"Host: {report['machine']['cpu']}\n\n{format_table(report['summary'])}"
                            "\n")
    print(format_table(report["summary"]), file=sys.stdout)


if __name__ == "__main__":
    main()
