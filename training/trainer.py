"""`train`: the one training path. `tfnvp train` parses flags into a config and calls it; Python
users call it with a config dict (`tfnvp_training.resolve_config(...)`) and a run folder.

    data -> model (under the strategy's scope) -> Adam + learning-rate policy -> callbacks ->
    `fit` (or, for multi-worker strategies, `CustomTrainer.fit` on the same `train_step`) ->
    best weights restored -> test figure over `eval_draws` dequantisation draws -> samples.png

What a run guarantees (see README "Robustness"): SIGINT/SIGTERM saves the exact state and raises
`TrainingInterrupted`; a non-finite loss restores the last good weights and lowers the rate, up to
`max_nonfinite_retries` times (then `NonFiniteLossError`); checkpoints are atomic and never hold
non-finite weights; `resume=True` continues exactly where the run stopped.
"""
import os
import shutil
import sys
import tempfile

import keras
import tensorflow as tf

import tfnvp
from tfnvp import data as tfnvp_data
from tfnvp_training.callbacks import (
    CheckpointSaver,
    EarlyStopping,
    EpochLog,
    RunState,
    SampleGrid,
)
from tfnvp_training.config import (
    LARGE_IMAGE_SET,
    default_batch_size,
    default_dropout,
    default_learning_rate,
    default_widen_after_squeeze,
)
from tfnvp_training.distribute import WorkerLost, is_chief, uses_custom_loop
from tfnvp_training.errors import UsageError
from tfnvp_training.evaluation import evaluate_split
from tfnvp_training.interrupt import StopOnSignal, TrainingInterrupted, graceful_interrupt
from tfnvp_training.learning_rate import PlateauDecay, make_learning_rate
from tfnvp_training.loop import CustomTrainer
from tfnvp_training.nonfinite import NonFiniteGuard, NonFiniteLossError
from tfnvp_training.precision import resolve_dtype
from tfnvp_training.run_folder import RunFolder, record_versions

__all__ = ["dropout_default_message", "flip_default_message", "horizontal_flip", "steps_per_epoch",
           "steps_per_execution", "train", "widen_default_message"]


def steps_per_epoch(bundle, batch_size):
    """Full training batches per epoch (the last partial batch is dropped)."""
    num = bundle.num_train
    if num is None:  # a TFDS split: its cardinality, or count it once
        num = int(bundle.train.cardinality())
        if num < 0:
            num = int(bundle.train.reduce(0, lambda count, _: count + 1))
    if num < batch_size:
        raise UsageError(f"batch size {batch_size} is larger than the {num} training examples "
                         f"of {bundle.name!r}; expected `batch_size` <= {num}.")
    return num // batch_size


def steps_per_execution(steps, limit):
    """Batches per compiled call: the largest divisor of `steps` (an epoch's batches, or what is
    left of a resumed one) that is <= `limit`. Keras runs whole calls, so a call that does not
    divide the epoch would run into the next one; a divisor keeps every epoch exact (its batches,
    checkpoints and resume point). Measured (README "Benchmarks"): 8 per call trains the vector
    case 13-18% faster than 1, the per-batch Python work (callbacks, the NaN check, Keras' loop)
    then running once per call."""
    return max(d for d in range(1, min(int(limit), int(steps)) + 1) if steps % d == 0)


def horizontal_flip(config, bundle):
    """Whether training images are flipped left-right: the config's `horizontal_flip`, else the
    data's default (`bundle.horizontal_flip`). Refused for vector data."""
    flip = config.get("horizontal_flip")
    if flip is None:  # on for the TFDS photo sets and for image files that look symmetric
        return bundle.horizontal_flip
    if flip and len(bundle.event_shape) != 3:
        raise UsageError(f"`horizontal_flip` flips images, but {bundle.name!r} holds vectors of "
                         f"shape {tuple(bundle.event_shape)}; expected image data [H, W, C].")
    return bool(flip)


def flip_default_message(bundle):
    """One line on why the images are (not) flipped by default, and the flag that overrides."""
    accuracy = bundle.mirror_accuracy
    if accuracy is None:
        return ("random horizontal flips: on (the paper's augmentation for this photo set); "
                "--no-flip turns them off")
    test = (f"a linear classifier told held-out training images from their mirror images "
            f"{accuracy:.0%} of the time")
    if bundle.horizontal_flip:
        return (f"random horizontal flips: on ({test}, as by chance: mirrored images look like "
                f"yours); --no-flip turns them off")
    return (f"random horizontal flips: off ({test}: mirrored images do not look like yours); "
            f"--flip turns them on")


def _num_scales(model_config, event_shape):
    """The scales of the image flow `model_config` builds on `event_shape` (0 for vectors)."""
    if len(event_shape) != 3:
        return 0
    return model_config.get("num_scales") or tfnvp.model.default_num_scales(*event_shape[:2])


def widen_default_message(widen, num_train):
    """One line on why the s/t nets are (not) widened after each squeeze by default."""
    count = "an unknown number of" if num_train is None else f"{num_train:,}"
    if widen:
        return (f"s/t width after each squeeze: doubled ({count} training images >= "
                f"{LARGE_IMAGE_SET:,}: enough data for the wider nets); --no-widen keeps it")
    return (f"s/t width after each squeeze: kept ({count} training images, fewer than "
            f"{LARGE_IMAGE_SET:,}: wider nets overfit small sets); --widen doubles it")


def dropout_default_message(rate, num_train):
    """One line on the s/t nets' dropout rate the trainer picked."""
    count = "an unknown number of" if num_train is None else f"{num_train:,}"
    if rate:
        return (f"s/t dropout: {rate:g} ({count} training images, fewer than "
                f"{LARGE_IMAGE_SET:,}: it curbs overfitting); --dropout 0 turns it off")
    return (f"s/t dropout: none ({count} training images >= {LARGE_IMAGE_SET:,}); "
            f"--dropout RATE adds it")


def train(config, out, *, resume=False, overwrite=False, strategy=None, callbacks=(),
          verbose="auto", log=None):
    """Trains the flow `config` describes and writes the run folder `out`.

    Args:
      config: a resolved config (`tfnvp_training.resolve_config`); with `resume`, the run's own
        (its config.json, as `tfnvp train --resume` reads it).
      out: the run folder.
      resume: continue the run in `out` from its latest checkpoint, exactly.
      overwrite: replace a run already in `out` (otherwise refused).
      strategy: a `tf.distribute` strategy (None: one device); build nothing before passing it.
      callbacks: more Keras callbacks (they see every batch and epoch, as under `fit`).
      verbose: "auto" (progress bars on a terminal, one line per epoch otherwise), "lines"
        (one line per epoch), 0 (nothing).
      log: where messages go (default stdout).

    Returns a dict: split ("test", or "validation" when the data has no test split), nll,
    bits_per_dim (None for continuous data), draws, examples, nll_per_draw (the test figure over
    `eval_draws` dequantisation draws), stopped_early, best_val_loss, checkpoint (which one was
    restored), run (the folder's path), model (with those weights), chief. A non-chief worker
    returns only stopped_early, best_val_loss, run and chief (False).
    Raises `TrainingInterrupted` / `NonFiniteLossError`
    (`TrainingStopped`: the run folder says where to continue) and `UsageError`/`ValueError`
    for bad input before anything is written.
    """
    log = log or sys.stdout
    strategy = strategy or tf.distribute.get_strategy()
    run_folder = RunFolder(out)
    if not resume and run_folder.has_checkpoints() and not overwrite:
        raise UsageError(f"{run_folder.path} already holds a run with checkpoints; expected "
                         f"--resume to continue it, --overwrite to replace it, or a new --out "
                         f"folder.")
    chief = is_chief(strategy)
    replicas = strategy.num_replicas_in_sync

    keras.utils.set_random_seed(config["seed"])
    bundle = tfnvp_data.load(config["data"], seed=config["seed"], levels=config["levels"],
                             data_dir=config.get("data_dir"), image_size=config["image_size"],
                             validation_fraction=config["validation_fraction"])
    flip = horizontal_flip(config, bundle)
    if config.get("horizontal_flip") is None and (flip or bundle.mirror_accuracy is not None):
        print(flip_default_message(bundle), file=log)  # a default that changes the data
    config["horizontal_flip"] = flip  # recorded in config.json: a resumed run keeps its flips
    is_image = len(bundle.event_shape) == 3
    if config["batch_size"] is None:  # recorded in config.json: evaluate and resume read it
        config["batch_size"] = default_batch_size(is_image, bundle.num_train)
    if config["lr"] is None:  # recorded in config.json, as the batch
        config["lr"] = default_learning_rate(is_image)
    if config["batch_size"] % replicas:
        raise UsageError(f"batch size {config['batch_size']} does not split over "
                         f"{replicas} replicas; expected a multiple of {replicas}.")
    steps = steps_per_epoch(bundle, config["batch_size"])
    with strategy.scope():
        if resume:
            model = tfnvp.RealNVP.from_config(config["model_config"])
            if tuple(model.event_shape) != tuple(bundle.event_shape):
                raise UsageError(f"the run in {run_folder.path} models shape "
                                 f"{model.event_shape}, but {config['data']!r} has shape "
                                 f"{tuple(bundle.event_shape)}.")
        else:
            if (config["model"].get("widen_after_squeeze") is None
                    and _num_scales(config["model"], bundle.event_shape) > 1):  # it has a squeeze
                widen = default_widen_after_squeeze(bundle.num_train)
                config["model"]["widen_after_squeeze"] = widen  # recorded in config.json
                print(widen_default_message(widen, bundle.num_train), file=log)
            if is_image and config["model"].get("dropout") is None:
                rate = default_dropout(bundle.num_train)
                config["model"]["dropout"] = rate  # recorded in config.json
                print(dropout_default_message(rate, bundle.num_train), file=log)
            dtype, why = resolve_dtype(config["model"].get("dtype", "float32"))
            if why:  # --dtype auto: say which it picked
                print(f"--dtype auto: {dtype} ({why})", file=log)
                config["model"]["dtype"] = dtype
            model = tfnvp.RealNVP(bundle.event_shape, bundle.levels, **config["model"])
            config["model_config"] = _json_safe(model.get_config())
        learning_rate, schedule = make_learning_rate(config, steps)
        optimizer = keras.optimizers.Adam(learning_rate, global_clipnorm=config["clip_norm"])
        model.compile(optimizer=optimizer, jit_compile=bool(config["jit_compile"]),
                      steps_per_execution=steps_per_execution(steps,
                                                              config["steps_per_execution"]))

    # A non-chief worker writes its (identical) checkpoints into a folder it deletes at the end.
    write_folder = run_folder if chief else RunFolder(tempfile.mkdtemp(prefix="tfnvp-worker-"))
    state = RunState()
    guard = NonFiniteGuard(max_retries=config["max_nonfinite_retries"], schedule=schedule)
    saver = CheckpointSaver(run_folder, state, guard=guard, write_folder=write_folder,
                            extra={"lr_scale": schedule.scale} if schedule else None)
    early_stopping = EarlyStopping(state, patience=config["patience"])
    with strategy.scope():
        # The optimizer's slots exist before the first step is traced (and before a restore):
        # made inside that trace they make Keras trace the step twice (the digits model's
        # first fit: 57 -> 29 s on a Zen 3 EPYC).
        model.optimizer.build(model.trainable_variables)
        first_epoch = saver.restore(model) if resume else 0
    done = saver.batches_done
    if chief:
        if not resume:  # --overwrite, or leftovers without checkpoints
            shutil.rmtree(run_folder.file("checkpoints"), ignore_errors=True)
            shutil.rmtree(run_folder.logs, ignore_errors=True)
            if os.path.exists(run_folder.metrics_csv):
                os.remove(run_folder.metrics_csv)
        config["versions"] = record_versions()  # after the restore: a bad one changes nothing
        run_folder.write_config(config)
    epochs = config["epochs"]
    if resume:
        print(f"resuming {run_folder.path} at epoch {first_epoch}, step "
              f"{int(state.step.numpy())}"
              + (f" (batch {done} of {steps} of that epoch)" if done else ""), file=log)

    def batches(split, training, **stream):
        return tfnvp_data.batches(split, config["batch_size"], levels=bundle.levels,
                                  training=training, horizontal_flip=flip,
                                  seed=config["seed"], **stream)

    progress_bar = verbose == "auto" and log.isatty()
    run_callbacks = [guard, saver, early_stopping, *callbacks]
    if config["lr_schedule"] == "plateau":
        run_callbacks.append(PlateauDecay(state, patience=config["lr_patience"],
                                          schedule=schedule))
    if verbose != 0 and not progress_bar:
        run_callbacks.append(EpochLog(state, epochs, file=log, schedule=schedule))
    files = []
    if chief:
        files = [keras.callbacks.CSVLogger(run_folder.metrics_csv, append=resume),
                 keras.callbacks.TensorBoard(run_folder.logs, write_graph=False)]
        run_callbacks += files
        if model.is_image:
            run_callbacks.append(SampleGrid(os.path.join(run_folder.logs, "samples"),
                                            temperature=config["sample_temperature"],
                                            seed=config["seed"]))
    validation = batches(bundle.validation, False)
    custom_loop = CustomTrainer(model, strategy, jit_compile=bool(config["jit_compile"])) \
        if uses_custom_loop(strategy) else None

    def fit(first, last, skip=0):
        # Sharded by data: every worker builds each global batch (its noise and flips a function
        # of (seed, epoch, batch)) and keeps its slice, so the replica count changes nothing.
        stream = batches(bundle.train, True, epochs=(first, last), skip=skip).with_options(
            _shard_by_data())
        arguments = dict(validation_data=validation, initial_epoch=first, epochs=last,
                         steps_per_epoch=steps - skip, callbacks=run_callbacks,
                         verbose=1 if progress_bar else 0)
        if custom_loop is not None:
            custom_loop.fit(stream, **arguments)
            return
        per_call = model.steps_per_execution
        model.steps_per_execution = steps_per_execution(steps - skip, per_call)
        if model.steps_per_execution != per_call:  # a resumed epoch's rest: traced anew
            model.train_function = None
        try:
            model.fit(stream, shuffle=False, **arguments)
        finally:
            if model.steps_per_execution != per_call:
                model.steps_per_execution, model.train_function = per_call, None

    try:
        with graceful_interrupt() as interrupted:
            run_callbacks.append(StopOnSignal(interrupted, raise_interrupt=True))
            try:
                if done and first_epoch < epochs:  # the rest of the interrupted epoch first
                    fit(first_epoch, first_epoch + 1, skip=done)
                    first_epoch += 1
                if first_epoch < epochs and not early_stopping.exhausted:
                    fit(first_epoch, epochs)
                if interrupted:  # arrived during the last validation: the epoch is saved
                    raise TrainingInterrupted(interrupted.signum)
            except TrainingInterrupted as stop:
                _close(files)
                saved = saver.save("latest")
                where = (f"saved the exact state to {run_folder.file('checkpoints', 'latest')}"
                         if saved else "weights were not finite: kept the last good checkpoint")
                raise TrainingInterrupted(stop.signum, (
                    f"{stop} at epoch {int(state.epoch.numpy()) + 1}/{epochs}, batch "
                    f"{saver.batches_done}/{steps}; {where}; continue with: "
                    f"tfnvp train --out {out} --resume")) from None
            except tf.errors.OpError as error:
                if custom_loop is None:  # one process: not a lost worker, a real error
                    raise
                _close(files)
                reason = (error.message or str(error)).strip().splitlines()[0][:200]
                raise WorkerLost(
                    f"lost the cluster at epoch {int(state.epoch.numpy()) + 1}/{epochs} "
                    f"({type(error).__name__}: {reason}); the last checkpoint "
                    f"{run_folder.file('checkpoints', 'latest')} is intact; restart every "
                    f"worker with: tfnvp train --out {out} --auto-resume ...") from None
            except NonFiniteLossError as error:
                _close(files)
                kept = (f"the last good checkpoint {run_folder.file('checkpoints', 'latest')} "
                        f"is intact" if run_folder.has_checkpoint("latest")
                        else "no checkpoint written")
                raise NonFiniteLossError(f"{error}; {kept}; try a lower --lr or a "
                                         f"--clip-norm.") from None
    finally:
        if not chief:
            shutil.rmtree(write_folder.path, ignore_errors=True)
    summary = {"stopped_early": early_stopping.stopped_early, "chief": chief,
               "best_val_loss": float(state.best.numpy()), "run": run_folder.path}
    if not chief:  # the chief reports the figure and writes the pictures
        _wait_for_every_worker(strategy, custom_loop)
        return summary
    summary["checkpoint"] = run_folder.restore_weights(model, "best")  # falls back to latest
    split_name, split = ("test", bundle.test) if bundle.test is not None else (
        "validation", bundle.validation)
    result = evaluate_split(model, split, batch_size=config["batch_size"], seed=config["seed"],
                            draws=config["eval_draws"], jit_compile=bool(config["jit_compile"]))
    write_samples_png(model, bundle, run_folder.samples_png, config)
    _wait_for_every_worker(strategy, custom_loop)
    return {"split": split_name, **result, **summary, "model": model}


def _shard_by_data():
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def _wait_for_every_worker(strategy, custom_loop):
    """A last all-reduce, so no worker leaves while another still works (the cluster's
    coordination service reports a departed worker as a crash)."""
    if custom_loop is not None:
        all_reduce = tf.function(lambda: strategy.reduce(
            "SUM", strategy.run(lambda: tf.constant(1.0)), axis=None))
        all_reduce()


def _close(callbacks):
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
