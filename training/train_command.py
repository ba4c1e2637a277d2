"""`tfnvp train`: fit a Real NVP flow and write a run folder (see `training.run_folder`)."""
import argparse

from training import options
from training.config import load_config, resolve_config
from training.errors import UsageError
from training.run_folder import RunFolder

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
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its latest checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    options.add_architecture_arguments(parser)


def config_from_args(args, run):
    flags = {"data": args.data, "levels": args.levels, "batch_size": args.batch_size,
             "seed": args.seed, "epochs": args.epochs, "lr": args.lr,
             "clip_norm": args.clip_norm, "patience": args.patience,
             "jit_compile": args.jit_compile, "eval_draws": args.eval_draws}
    if args.resume:
        saved = run.read_config()
        if not run.has_checkpoint("latest"):
            raise UsageError(f"cannot --resume: no checkpoint in {run.path}/checkpoints/latest.")
        if any(v is not None for v in options.model_overrides(args).values()):
            raise UsageError("the architecture of a resumed run is fixed: drop the "
                             "architecture flags or train into a new --out folder.")
        base = {k: v for k, v in saved.items() if k not in ("versions", "model_config")}
        config = resolve_config(base, flags)
        config["model_config"] = saved["model_config"]
        return config
    base = load_config(args.config) if args.config else {}
    return resolve_config(base, flags, options.model_overrides(args))


def run(args):
    run_folder = RunFolder(args.out)
    config = config_from_args(args, run_folder)

    import os
    import shutil

    import keras
    import numpy as np
    import tensorflow as tf
    import tensorflow_probability as tfp

    import tfnvp
    from tfnvp import data as tfnvp_data
    from training.callbacks import RunCheckpoint, SampleGrid
    from training.evaluation import average_nll

    keras.utils.set_random_seed(config["seed"])
    bundle = tfnvp_data.load(config["data"], levels=config["levels"],
                             validation_fraction=config["validation_fraction"],
                             seed=config["seed"], image_size=config["image_size"])
    if args.resume:
        model = tfnvp.RealNVP.from_config(config["model_config"])
        if tuple(model.event_shape) != tuple(bundle.event_shape):
            raise UsageError(f"the run in {run_folder.path} models shape {model.event_shape}, "
                             f"but {config['data']!r} has shape {tuple(bundle.event_shape)}.")
    else:
        model = tfnvp.RealNVP(bundle.event_shape, bundle.levels, **config["model"])
        config["model_config"] = _json_safe(model.get_config())
        for stale in ("checkpoints", "logs"):  # a fresh run replaces an old one in the folder
            shutil.rmtree(run_folder.file(stale), ignore_errors=True)
    config["versions"] = {"tensorflow": tf.__version__, "tensorflow_probability":
                          tfp.__version__, "keras": keras.__version__,
                          "tfnvp": tfnvp.__version__}
    run_folder.write_config(config)

    learning_rate = config["lr"]
    if config["lr_schedule"] == "cosine":
        steps_per_epoch = -(-bundle.num_train // config["batch_size"])
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config["lr"], decay_steps=config["epochs"] * steps_per_epoch)
    optimizer = keras.optimizers.Adam(learning_rate, global_clipnorm=config["clip_norm"])
    model.compile(optimizer=optimizer, jit_compile=bool(config["jit_compile"]))
    checkpointer = RunCheckpoint(run_folder, patience=config["patience"])
    initial_epoch = checkpointer.restore(model) if args.resume else 0
    if args.resume:
        print(f"resuming {run_folder.path} at epoch {initial_epoch}, step "
              f"{int(checkpointer.step.numpy())}")

    def batches(split, training, seed):
        return tfnvp_data.batches(split, config["batch_size"], levels=bundle.levels,
                                  training=training, horizontal_flip=bundle.horizontal_flip,
                                  seed=seed)

    callbacks = [checkpointer,
                 keras.callbacks.CSVLogger(run_folder.metrics_csv, append=args.resume),
                 keras.callbacks.TensorBoard(run_folder.logs, write_graph=False)]
    if model.is_image:
        callbacks.append(SampleGrid(os.path.join(run_folder.logs, "samples"),
                                    temperature=config["sample_temperature"], seed=config["seed"]))
    model.fit(batches(bundle.train, True, config["seed"]),
              validation_data=batches(bundle.validation, False, config["seed"]),
              epochs=config["epochs"], initial_epoch=initial_epoch, callbacks=callbacks,
              shuffle=False,  # tfnvp.data.batches shuffles the training set itself
              verbose=0 if args.quiet else "auto")
    if not run_folder.has_checkpoint("best"):  # nothing trained (resumed a finished run)
        run_folder.restore_weights(model, "latest")

    split_name, split = ("test", bundle.test) if bundle.test is not None else (
        "validation", bundle.validation)
    result = average_nll(model, lambda d: batches(split, False, config["seed"] + 1000 + d),
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


def write_samples_png(model, bundle, path, config, num=64):
    """Image grid of samples, or for vectors data | samples (| density for 2-D)."""
    import numpy as np

    from training.pictures import image_grid, save_image, save_vector_figure

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
