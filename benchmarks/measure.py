"""Measuring one model: throughput of training, `log_prob` and `sample`, peak memory, FLOPs.

Every timed function runs inside `tf.function` (optionally `jit_compile=True`, XLA), is traced
and warmed up first, then timed over `steps` calls; the result is fetched to the host at the end
of each call, so the time covers the whole computation.

    examples/s = batch * steps / seconds
    GFLOP/s    = FLOPs per call (TF's profiler on the traced graph) * calls / seconds / 1e9

Peak memory: on a GPU `tf.config.experimental.get_memory_info` (device peak bytes, reset before
the case); on the CPU the process's resident-set high-water mark (VmHWM from /proc/self/status,
reset through /proc/self/clear_refs before the case), i.e. the whole process including TF itself.
"""
import time

import keras
import tensorflow as tf

__all__ = ["count_flops", "peak_memory_mb", "reset_peak_memory", "time_calls",
           "train_function", "log_prob_function", "sample_function", "measure_model"]


def _gpu():
    gpus = tf.config.list_logical_devices("GPU")
    return gpus[0].name if gpus else None


def reset_peak_memory():
    """Starts a new peak-memory window (GPU device peak, or the CPU process's RSS high-water)."""
    gpu = _gpu()
    if gpu:
        tf.config.experimental.reset_memory_stats(gpu)
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass  # not Linux: the high-water mark then covers the process's whole life


def peak_memory_mb():
    """`(megabytes, kind)`: the peak since `reset_peak_memory` and what it measures."""
    gpu = _gpu()
    if gpu:
        return tf.config.experimental.get_memory_info(gpu)["peak"] / 2 ** 20, "gpu_peak"
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024, "cpu_rss_high_water"
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "cpu_rss_high_water"


def count_flops(function, *args):
    """Float operations of one call of a `tf.function`, counted by TF's profiler on the graph
    traced for `args` (MatMul, Conv2D and their gradients, element-wise ops: 1 multiply-add = 2)."""
    graph = function.get_concrete_function(*args).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops)


def time_calls(function, args, steps, warmup, repeats=1):
    """`(seconds, first)`: the fastest of `repeats` timed windows of `steps` calls of
    `function(*args)` (after `warmup` untimed calls; the fastest window is the one least disturbed
    by other processes), and the seconds the first call (tracing + compilation) took."""
    start = time.perf_counter()
    _fetch(function(*args))
    first = time.perf_counter() - start
    for _ in range(max(warmup - 1, 0)):
        _fetch(function(*args))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            _fetch(function(*args))
        best = min(best, time.perf_counter() - start)
    return best, first


def _fetch(result):
    for value in tf.nest.flatten(result):
        value.numpy()


def train_function(model, jit):
    """One training step (forward + backward + update) of a compiled Keras model: its own
    `train_step`, exactly what `fit` runs."""
    return tf.function(model.train_step, jit_compile=jit)


def log_prob_function(model, jit):
    return tf.function(lambda x: model.log_prob(x), jit_compile=jit)


def sample_function(model, batch, jit):
    return tf.function(lambda: model.sample(batch), jit_compile=jit)


def measure_model(model, data, *, jit, steps, warmup, flops=True, sample_steps=None,
                  repeats=1):
    """Measures `model` (a RealNVP or the TFP reference) on the batch `data`: each throughput is
    the best of `repeats` windows of `steps` calls (`sample_steps` for `sample`).

    Returns a dict: train/log_prob/sample examples per second, first-call seconds (tracing and
    compilation), FLOPs per training step and example, achieved training GFLOP/s, peak memory.
    """
    batch = int(data.shape[0])
    if getattr(model, "optimizer", None) is None:
        model.compile(optimizer=keras.optimizers.Adam(1e-4))
    model.optimizer.build(model.trainable_variables)
    reset_peak_memory()
    result = {}
    for kind, function, args, n in (
            ("train", train_function(model, jit), (data,), steps),
            ("log_prob", log_prob_function(model, jit), (data,), steps),
            ("sample", sample_function(model, batch, jit), (), sample_steps or steps)):
        seconds, first = time_calls(function, args, n, warmup, repeats)
        result[f"{kind}_examples_per_s"] = batch * n / seconds
        result[f"{kind}_first_call_s"] = first
        if kind == "train" and flops:
            step_flops = count_flops(function, *args)
            result["train_flops_per_example"] = step_flops / batch
            result["train_gflops_per_s"] = step_flops * n / seconds / 1e9
    result["peak_memory_mb"], result["memory_kind"] = peak_memory_mb()
    return result
