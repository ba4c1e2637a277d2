"""`python -m benchmarks.op_profile [--case digits] [--steps 16] [--jit] [--dtype D]`: where a
training step's time goes, by TensorFlow op type.

Runs `--steps` training steps of a benchmark case (`benchmarks.cases`; fit's own `train_step`
on one resident batch, after warm-up) under TensorFlow's profiler, reads the trace it writes
(an XSpace protobuf) and sums the duration of every executed op by type:

    op type               ms/step   share   ops/step   us/op
    Conv2DBackpropFilter    187.0   41.0%         60  3112.0

Times are summed over TensorFlow's threads, so they add up to more than the wall time when ops
run in parallel; the shares are what to read. Prints the table, writes DIR/op_profile.json.
"""
import argparse
import collections
import glob
import json
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__all__ = ["main", "op_times", "op_type_name", "profile_case"]

# Trace events that are not ops: the executor's and thread pools' own bookkeeping.
_NOT_OPS = ("ThreadpoolListener", "ExecutorState", "ParallelFor", "Executor", "Iterator",
            "Prefetch")
# Where TensorFlow runs oneDNN (on by default on CPUs with AVX-512 VNNI/BF16 or AMX) its graph
# pass renames ops ("_MklNativeConv2DBackpropFilter"); grappler names its fusions "_FusedConv2D".
_REWRITE_PREFIXES = ("_MklNative", "_Mkl", "_")


def op_type_name(op_type):
    """TensorFlow's op type without oneDNN's or grappler's rewrite prefix:
    "_MklNativeFusedConv2D" -> "FusedConv2D", "Conv2D" -> "Conv2D"."""
    for prefix in _REWRITE_PREFIXES:
        if op_type.startswith(prefix):
            return op_type[len(prefix):]
    return op_type


def op_times(trace_dir):
    """`{op type: (seconds, count)}` summed over the TensorFlow compute threads of every
    `*.xplane.pb` trace under `trace_dir` (an op event is named "scope/name:Type")."""
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError as error:  # an internal module of TensorFlow's wheel
        raise RuntimeError("this TensorFlow build has no tensorflow.tsl.profiler.protobuf."
                           f"xplane_pb2 to read profiler traces with ({error})") from error
    paths = glob.glob(os.path.join(trace_dir, "**", "*.xplane.pb"), recursive=True)
    if not paths:
        raise RuntimeError(f"the profiler wrote no *.xplane.pb under {trace_dir}")
    seconds, counts = collections.Counter(), collections.Counter()
    for path in paths:
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            for line in plane.lines:
                if not line.name.startswith("tf_Compute"):
                    continue
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    if ":" not in name or name.startswith(_NOT_OPS):
                        continue
                    op_type = op_type_name(name.rsplit(":", 1)[1])
                    seconds[op_type] += event.duration_ps * 1e-12
                    counts[op_type] += 1
    return {op: (seconds[op], counts[op]) for op in seconds}


def profile_case(case, steps=16, jit=False, warmup=5, model=None, dtype="float32"):
    """`[{op, ms_per_step, share, ops_per_step, us_per_op}]`, largest first, for `steps`
    training steps of `benchmarks.cases.CASES[case]` (in the policy `dtype`), or of `model` on
    `case`'s data."""
    import keras
    import tensorflow as tf

    from benchmarks.cases import CASES
    from benchmarks.measure import train_function

    spec = CASES[case]
    if model is None:
        model = spec.build(dtype)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.optimizer.build(model.trainable_variables)
    data = spec.data(spec.batch)
    step = train_function(model, jit)
    for _ in range(warmup):  # tracing and compilation stay out of the trace
        tf.nest.map_structure(lambda t: t.numpy(), step(data))
    with tempfile.TemporaryDirectory(prefix="tfnvp-profile-") as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        try:
            for _ in range(steps):
                tf.nest.map_structure(lambda t: t.numpy(), step(data))
        finally:
            tf.profiler.experimental.stop()
        times = op_times(trace_dir)
    total = sum(s for s, _ in times.values())
    rows = [{"op": op, "ms_per_step": 1e3 * s / steps, "share": s / total,
             "ops_per_step": n / steps, "us_per_op": 1e6 * s / n}
            for op, (s, n) in times.items()]
    return sorted(rows, key=lambda row: -row["ms_per_step"])


def main(argv=None):
    from benchmarks.cases import CASES
    parser = argparse.ArgumentParser(prog="python -m benchmarks.op_profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", default="digits", choices=sorted(CASES))
    parser.add_argument("--steps", type=int, default=16, help="profiled training steps")
    parser.add_argument("--jit", action="store_true", help="XLA-compiled step")
    parser.add_argument("--dtype", default="float32", choices=("float32", "mixed_bfloat16"))
    parser.add_argument("--top", type=int, default=20, help="rows printed")
    parser.add_argument("--out", default="bench-results", help="folder for op_profile.json")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")

    from benchmarks.run import machine_info
    rows = profile_case(args.case, args.steps, args.jit, dtype=args.dtype)
    print(f"{args.case}, {args.dtype}, jit {'on' if args.jit else 'off'}, {args.steps} steps "
          f"(op time summed over threads)")
    print(f"{'op type':28s} {'ms/step':>9s} {'share':>7s} {'ops/step':>9s} {'us/op':>9s}")
    for row in rows[:args.top]:
        print(f"{row['op']:28s} {row['ms_per_step']:9.2f} {row['share']:7.1%} "
              f"{row['ops_per_step']:9.0f} {row['us_per_op']:9.1f}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "op_profile.json")
    with open(path, "w") as f:
        json.dump({"machine": machine_info(), "case": args.case, "dtype": args.dtype,
                   "jit": args.jit,
                   "steps": args.steps, "ops": rows}, f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
