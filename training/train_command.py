"""`tfnvp train`: parse the flags into a config, call `tfnvp_training.train`, print the result.

The run folder is described in `tfnvp_training.run_folder`; the training path in
`tfnvp_training.trainer`."""
import argparse
import os

from tfnvp_training import options
from tfnvp_training.config import (
    DEFAULTS,
    IMAGE_LR,
    LR_SCHEDULES,
    VECTOR_LR,
    load_config,
    resolve_config,
)
from tfnvp_training.distribute import DISTRIBUTE_CHOICES
from tfnvp_training.errors import UsageError
from tfnvp_training.run_folder import RunFolder

HELP = "train a flow (fit with checkpoints, early stopping, TensorBoard, samples.png)"


def add_arguments(parser):
    parser.add_argument("--config", metavar="NAME_OR_JSON_PATH",
                        help="experiment config: a packaged name (digits, cifar10, moons, ...) "
                             "or a JSON file; flags override it")
    options.add_data_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder to write")
    parser.add_argument("--epochs", type=options.positive_int,
                        help="total epochs, a cap: early stopping usually ends the run first "
                             f"(default {DEFAULTS['epochs']}, or the config's)")
    parser.add_argument("--lr", type=float,
                        help=f"Adam learning rate (default {IMAGE_LR:g} for images, "
                             f"{VECTOR_LR:g} for vectors, or the config's)")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES,
                        help="plateau (the default): halve the rate after every 3 epochs "
                             "without a better validation loss; cosine: decay to 0 over "
                             "--epochs; constant")
    parser.add_argument("--clip-norm", type=float,
                        help="clip the global gradient norm (default: no clipping)")
    parser.add_argument("--patience", type=int,
                        help="early stopping: epochs without validation improvement (0: off; "
                             f"default {DEFAULTS['patience']}, or the config's)")
    parser.add_argument("--flip", dest="horizontal_flip", action=argparse.BooleanOptionalAction,
                        default=None, help="random left-right flips of the training images "
                                           "(default: on for cifar10, celeb_a, lsun and image "
                                           "files whose images a linear classifier cannot tell "
                                           "from their mirror images; off otherwise; the run "
                                           "says which)")
    parser.add_argument("--jit", dest="jit_compile", action=argparse.BooleanOptionalAction,
                        default=None, help="XLA-compile the train/test steps (default off, "
                                           "or the config's)")
    parser.add_argument("--steps-per-execution", type=options.positive_int, metavar="N",
                        help="batches per compiled call, at most N and a divisor of the epoch's "
                             "batches, so epochs stay exact (default "
                             f"{DEFAULTS['steps_per_execution']}; 1: callbacks see every batch)")
    parser.add_argument("--eval-draws", type=options.positive_int,
                        help="dequantisation draws for the final test figure (default "
                             f"{DEFAULTS['eval_draws']})")
    parser.add_argument("--max-nonfinite-retries", type=options.nonnegative_int,
                        help="on a NaN/Inf loss restore the last good weights, halve the lr and "
                             "go on, at most this many times (default "
                             f"{DEFAULTS['max_nonfinite_retries']}); then stop (exit 1)")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true",
                          help="continue the run in --out exactly where it stopped (its latest "
                               "checkpoint, mid-epoch after an interrupt)")
    existing.add_argument("--overwrite", action="store_true",
                          help="replace the run already in --out (deletes its checkpoints)")
    existing.add_argument("--auto-resume", action="store_true",
                          help="--resume when --out holds a checkpoint, else start the run: the "
                               "one command a cluster manager restarts every worker with")
    parser.add_argument("--quiet", action="store_true",
                        help="one line per epoch instead of progress bars (the default when "
                             "the output is not a terminal)")
    parser.add_argument("--distribute", choices=DISTRIBUTE_CHOICES, default="auto",
                        help="tf.distribute strategy: auto (multi-worker when TF_CONFIG names "
                             "several workers, mirrored when several GPUs are visible, else "
                             "off), off, mirrored (all local GPUs), multi-worker (TF_CONFIG); "
                             "--batch-size is the global batch")
    options.add_architecture_arguments(parser)


def config_from_args(args, run):
    """The resolved config of `tfnvp train`: DEFAULTS <- --config <- flags; with --resume, the
    run's own config.json <- the flags that do not change its data stream or architecture."""
    flags = {"data": args.data, "levels": args.levels, "data_dir": args.data_dir,
             "image_size": args.image_size, "validation_fraction": args.validation_fraction,
             "batch_size": args.batch_size, "seed": args.seed, "epochs": args.epochs,
             "lr": args.lr, "lr_schedule": args.lr_schedule, "clip_norm": args.clip_norm,
             "patience": args.patience, "jit_compile": args.jit_compile,
             "horizontal_flip": args.horizontal_flip,
             "steps_per_execution": args.steps_per_execution,
             "eval_draws": args.eval_draws, "max_nonfinite_retries": args.max_nonfinite_retries}
    if args.resume:
        saved = run.read_config()
        if not run.has_checkpoint("latest"):
            raise UsageError(f"cannot --resume: no checkpoint in {run.path}/checkpoints/latest.")
        changed = {k: v for k, v in options.model_overrides(args).items()
                   if v is not None and saved.get("model", {}).get(k) != v
                   and (k, v) != ("dtype", "auto")}  # auto resolved to the saved one
        if changed:  # the same flags again are fine (a cluster manager repeats the command)
            raise UsageError(f"the architecture of a resumed run is fixed (got "
                             f"`{next(iter(changed))}` {next(iter(changed.values()))!r}): drop "
                             f"the architecture flags or train into a new --out folder.")
        base = {k: v for k, v in saved.items() if k not in ("versions", "model_config")}
        if base.get("horizontal_flip") is None:  # a run from before flips were recorded, when
            base["horizontal_flip"] = False if os.path.isabs(base["data"]) else None  # files
            # were not flipped (a TFDS set's default is as it was)
        config = resolve_config(base, flags)
        for key in ("data", "levels", "image_size", "validation_fraction", "batch_size",
                    "seed", "horizontal_flip"):  # they define the data stream
            if flags[key] is not None and config[key] != base.get(key):
                raise UsageError(f"a resumed run keeps its `{key}` ({base.get(key)!r}), got "
                                 f"{flags[key]!r}; drop the flag or train into a new --out.")
        config["model_config"] = saved["model_config"]
        return config
    base = load_config(args.config) if args.config else {}
    return resolve_config(base, flags, options.model_overrides(args))


def run(args):
    run_folder = RunFolder(args.out)
    if args.auto_resume:
        args.resume = run_folder.has_checkpoint("latest")
    config = config_from_args(args, run_folder)
    if not args.resume and run_folder.has_checkpoints() and not args.overwrite:
        raise UsageError(f"{run_folder.path} already holds a run with checkpoints; expected "
                         f"--resume to continue it, --overwrite to replace it, or a new --out "
                         f"folder.")
    from tfnvp_training.distribute import make_strategy
    strategy = make_strategy(args.distribute)  # before any other TensorFlow work

    from tfnvp_training.trainer import train
    result = train(config, args.out, resume=args.resume, overwrite=args.overwrite,
                   strategy=strategy, verbose="lines" if args.quiet else "auto")
    if not result["chief"]:
        print(f"worker done; the chief wrote the run folder {result['run']}")
        return result
    if result["bits_per_dim"] is not None:
        figure = f"{result['bits_per_dim']:.4f} bits/dim"
    else:
        figure = f"{result['nll']:.4f} nats per example (NLL)"
    folder = RunFolder(result["run"])
    print(f"\n{result['split']} {figure} on {result['examples']} examples, averaged over "
          f"{result['draws']} dequantisation draw(s); {result['checkpoint']} epoch restored"
          + (" (stopped early)" if result["stopped_early"] else ""))
    print(f"run folder:  {folder.path}")
    print(f"  config:      {folder.config_path}")
    print(f"  checkpoints: {folder.file('checkpoints')}/{{best,latest}}")
    print(f"  metrics:     {folder.metrics_csv}")
    print(f"  samples:     {folder.samples_png}")
    print(f"  TensorBoard: tensorboard --logdir {folder.logs}")
    print(f"next: tfnvp evaluate --model {args.out}   |   "
          f"tfnvp sample --model {args.out} --num 64 --out samples.png")
    return result
