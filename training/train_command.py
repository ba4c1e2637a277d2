"""`tfnvp train`: fit a Real NVP flow and write a run folder (see `tfnvp_training.run_folder`)."""
import argparse

from tfnvp_training import options
from tfnvp_training.config import load_config, resolve_config
from tfnvp_training.errors import UsageError
from tfnvp_training.run_folder import RunFolder

HELP = "train a flow (fit with checkpoints, early stopping, TensorBoard, samples.png)"


def add_arguments(parser):
    parser.add_argument("--config", metavar="NAME_OR_JSON_PATH",
                        help="experiment config: a packaged name (digits, cifar10, moons, ...) "
                             "or a JSON file; flags override it")
    options.add_data_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder to write")
    parser.add_argument("--epochs", type=options.positive_int, help="total epochs")
    parser.add_argument("--lr", type=float, help="Adam learning rate")
    parser.add_argument("--clip-norm", type=float, help="clip the global gradient norm")
    parser.add_argument("--patience", type=int,
                        help="early stopping: epochs without validation improvement (0: off)")
    parser.add_argument("--jit", dest="jit_compile", action=argparse.BooleanOptionalAction,
                        default=None, help="XLA-compile the train/test steps")
    parser.add_argument("--eval-draws", type=options.positive_int,
                        help="dequantisation draws for the final test figure")
    parser.add_argument("--max-nonfinite-retries", type=options.nonnegative_int,
                        help="on a NaN/Inf loss restore the last good weights, halve the lr and "
                             "go on, at most this many times (default 3); then stop (exit 1)")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true",
                          help="continue the run in --out exactly where it stopped (its latest "
                               "checkpoint, mid-epoch after an interrupt)")
    existing.add_argument("--overwrite", action="store_true",
                          help="replace the run already in --out (deletes its checkpoints)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    options.add_architecture_arguments(parser)


# Test hook: callbacks appended to the run's (the interrupt test sends its signal from one).
EXTRA_CALLBACKS = []


def config_from_args(args, run):
    flags = {"data": args.data, "levels": args.levels, "batch_size": args.batch_size,
             "seed": args.seed, "epochs": args.epochs, "lr": args.lr,
             "clip_norm": args.clip_norm, "patience": args.patience,
             "jit_compile": args.jit_compile, "eval_draws": args.eval_draws,
             "max_nonfinite_retries": args.max_nonfinite_retries}
    if args.resume:
        saved = run.read_config()
        if not run.has_checkpoint("latest"):
            raise UsageError(f"cannot --resume: no checkpoint in {run.path}/checkpoints/latest.")
        if any(v is not None for v in options.model_overrides(args).values()):
            raise UsageError("the architecture of a resumed run is fixed: drop the "
                             "architecture flags or train into a new --out folder.")
        for key in ("data", "levels", "batch_size", "seed"):  # they define the data stream
            if flags[key] is not None and flags[key] != saved.get(key):
                raise UsageError(f"a resumed run keeps its {key} ({saved.get(key)!r}), got "
                                 f"{flags[key]!r}; drop the flag or train into a new --out.")
        base = {k: v for k, v in saved.items() if k not in ("versions", "model_config")}
        config = resolve_config(base, flags)
        config["model_config"] = saved["model_config"]
        return config
    if run.has_checkpoints() and not args.overwrite:
        raise UsageError(f"{run.path} already holds a run with checkpoints; expected --resume "
                         f"to continue it, --overwrite to replace it, or a new --out folder.")
    base = load_config(args.config) if args.config else {}
    return resolve_config(base, flags, options.model_overrides(args))


def steps_per_epoch(bundle, batch_size):
    """Full training batches per epoch (the last partial batch is dropped)."""
    num = bundle.num_train
    if num is None:  # a TFDS split: its cardinality, or count it once
        num = int(bundle.train.cardinality())
        if num < 0:
            num = int(bundle.train.reduce(0, lambda count, _: count + 1))
    if num < batch_size:
        raise UsageError(f"batch size {batch_size} is larger than the {num} training examples "
                         f"of {bundle.name!r}; expected --batch-size <= {num}.")
    return num // batch_size


def run(args):
    run_folder = RunFolder(args.out)
    config = config_from_args(args, run_folder)

    import os
    import shutil

    import keras

    import tfnvp
    from tfnvp import data as tfnvp_data
    from tfnvp_training.callbacks import RunCheckpoint, SampleGrid
    from tfnvp_training.evaluation import evaluate_split
    from tfnvp_training.interrupt import StopOnSignal, TrainingInterrupted, graceful_interrupt
    from tfnvp_training.nonfinite import NonFiniteGuard, NonFiniteLossError, ScaledSchedule
    from tfnvp_training.run_folder import record_versions

    keras.utils.set_random_seed(config["seed"])
    bundle = tfnvp_data.load(config["data"], seed=config["seed"],
                             **options.data_options(args, config))
    steps = steps_per_epoch(bundle, config["batch_size"])
    if args.resume:
        model = tfnvp.RealNVP.from_config(config["model_config"])
        if tuple(model.event_shape) != tuple(bundle.event_shape):
            raise UsageError(f"the run in {run_folder.path} models shape {model.event_shape}, "
                             f"but {config['data']!r} has shape {tuple(bundle.event_shape)}.")
    else:
        model = tfnvp.RealNVP(bundle.event_shape, bundle.levels, **config["model"])
        config["model_config"] = _json_safe(model.get_config())
        for stale in ("checkpoints", "logs"):  # --overwrite (or leftovers without checkpoints)
            shutil.rmtree(run_folder.file(stale), ignore_errors=True)

    learning_rate, schedule, extra = config["lr"], None, {}
    if config["lr_schedule"] == "cosine":  # scaled, so NonFiniteGuard can lower it
        learning_rate = schedule = ScaledSchedule(keras.optimizers.schedules.CosineDecay(
            config["lr"], decay_steps=config["epochs"] * steps))
        extra["lr_scale"] = schedule.scale
    optimizer = keras.optimizers.Adam(learning_rate, global_clipnorm=config["clip_norm"])
    model.compile(optimizer=optimizer, jit_compile=bool(config["jit_compile"]))
    guard = NonFiniteGuard(max_retries=config["max_nonfinite_retries"], schedule=schedule)
    checkpointer = RunCheckpoint(run_folder, patience=config["patience"], guard=guard,
                                 extra=extra)
    first_epoch = checkpointer.restore(model) if args.resume else 0
    done = checkpointer.batches_done
    config["versions"] = record_versions()  # after the restore: a bad checkpoint changes nothing
    run_folder.write_config(config)
    if args.resume:
        print(f"resuming {run_folder.path} at epoch {first_epoch}, step "
              f"{int(checkpointer.step.numpy())}"
              + (f" (batch {done} of {steps} of that epoch)" if done else ""))

    def batches(split, training, seed, **stream):
        return tfnvp_data.batches(split, config["batch_size"], levels=bundle.levels,
                                  training=training, horizontal_flip=bundle.horizontal_flip,
                                  seed=seed, **stream)

    csv_logger = keras.callbacks.CSVLogger(run_folder.metrics_csv, append=args.resume)
    tensorboard = keras.callbacks.TensorBoard(run_folder.logs, write_graph=False)
    validation = batches(bundle.validation, False, config["seed"])
    epochs = config["epochs"]
    with graceful_interrupt() as interrupted:
        # order matters: the guard repairs a bad batch before anyone saves or stops
        callbacks = [guard, checkpointer, StopOnSignal(interrupted, raise_interrupt=True),
                     csv_logger, tensorboard, *EXTRA_CALLBACKS]
        if model.is_image:
            callbacks.append(SampleGrid(os.path.join(run_folder.logs, "samples"),
                                        temperature=config["sample_temperature"],
                                        seed=config["seed"]))

        def fit(first, last, skip=0):
            stream = batches(bundle.train, True, config["seed"], epochs=(first, last), skip=skip)
            model.fit(stream, validation_data=validation, initial_epoch=first, epochs=last,
                      steps_per_epoch=steps - skip, callbacks=callbacks, shuffle=False,
                      verbose=0 if args.quiet else "auto")

        try:
            if done and first_epoch < epochs:  # the rest of the interrupted epoch first
                fit(first_epoch, first_epoch + 1, skip=done)
                first_epoch += 1
            if first_epoch < epochs and not checkpointer.stopped_early:
                fit(first_epoch, epochs)
            if interrupted:  # arrived during the last validation: the epoch is saved
                raise TrainingInterrupted(interrupted.signum)
        except TrainingInterrupted as stop:
            _close(csv_logger, tensorboard)
            saved = checkpointer.save("latest")
            where = (f"saved the exact state to {run_folder.file('checkpoints', 'latest')}"
                     if saved else "weights were not finite: kept the last good checkpoint")
            raise TrainingInterrupted(stop.signum, (
                f"{stop} at epoch {int(checkpointer.epoch.numpy()) + 1}/{epochs}, batch "
                f"{checkpointer.batches_done}/{steps}; {where}; continue with: "
                f"tfnvp train --out {args.out} --resume")) from None
        except NonFiniteLossError as error:
            _close(csv_logger, tensorboard)
            kept = (f"the last good checkpoint {run_folder.file('checkpoints', 'latest')} is "
                    f"intact" if run_folder.has_checkpoint("latest") else "no checkpoint written")
            raise NonFiniteLossError(f"{error}; {kept}; try a lower --lr or a --clip-norm.") \
                from None
    run_folder.restore_weights(model, "best")  # falls back to latest

    split_name, split = ("test", bundle.test) if bundle.test is not None else (
        "validation", bundle.validation)
    result = evaluate_split(model, split, batch_size=config["batch_size"], seed=config["seed"],
                            draws=config["eval_draws"], jit_compile=bool(config["jit_compile"]))
    write_samples_png(model, bundle, run_folder.samples_png, config)

    if result["bits_per_dim"] is not None:
        figure = f"{result['bits_per_dim']:.4f} bits/dim"
    else:
        figure = f"{result['nll']:.4f} nats per example (NLL)"
    print(f"\n{split_name} {figure} on {result['examples']} examples, averaged over "
          f"{result['draws']} dequantisation draw(s); best epoch restored"
          + (" (stopped early)" if checkpointer.stopped_early else ""))
    print(f"run folder:  {run_folder.path}")
    print(f"  config:      {run_folder.config_path}")
    print(f"  checkpoints: {run_folder.file('checkpoints')}/{{best,latest}}")
    print(f"  metrics:     {run_folder.metrics_csv}")
    print(f"  samples:     {run_folder.samples_png}")
    print(f"  TensorBoard: tensorboard --logdir {run_folder.logs}")
    print(f"next: tfnvp evaluate --model {args.out}   |   "
          f"tfnvp sample --model {args.out} --num 64 --out samples.png")
    return {"split": split_name, **result}


def _close(*callbacks):
    """Close the files of callbacks whose `fit` was cut short by an exception."""
    for callback in callbacks:
        callback.on_train_end()


def write_samples_png(model, bundle, path, config, num=64):
    """Image grid of samples, or for vectors data | samples (| density for 2-D)."""
    import numpy as np

    from tfnvp_training.pictures import image_grid, save_image, save_vector_figure

    samples = model.sample(num if model.is_image else 2000,
                           temperature=config["sample_temperature"], seed=config["seed"]).numpy()
    if model.is_image:
        save_image(path, image_grid(samples, model.levels))
        return
    data = np.stack([x.numpy() for x, _ in zip(bundle.train, range(2000))])
    log_prob_fn = None
    if model.num_dims == 2:
        log_prob_fn = lambda grid: np.concatenate(  # noqa: E731
            [model.log_prob(grid[i:i + 4096]).numpy() for i in range(0, len(grid), 4096)])
    save_vector_figure(path, data, samples, log_prob_fn)


def _json_safe(value):
    """Keras configs may hold tuples and numpy scalars: make them JSON types."""
    import json
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item")
                                 else list(o) if isinstance(o, tuple) else str(o)))
