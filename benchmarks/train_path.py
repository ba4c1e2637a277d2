"""`python -m benchmarks.train_path [--epochs N] [--rows N]`: how much of the flow step's speed a
user keeps through `tfnvp train`, against zuko's RealNVP, measured in one run.

Vector case, the issue's: 16-D data (`benchmarks.cases.vector_data`), 8 couplings of MLP 2x256,
batch 256, float32, jit off, flow batch norm on (tfnvp's defaults) and off. Rows:

    step         fit's own `train_step` in a `tf.function` on one resident batch (no input
                 pipeline, no callbacks): the ceiling
    tfnvp train  `tfnvp_training.train` (what `tfnvp train --data X.npz` runs: tf.data
                 pipeline, Keras fit, NaN guard, checkpoints, early stopping, logs), training
                 steps only (per-epoch time up to validation, the first epoch excluded)
    zuko         zuko's RealNVP, same architecture, batch, data and epochs (torch, CPU;
                 `pip install -e '.[bench]'`), training steps only, at one intra-op thread and
                 at all cores, the faster kept (2 threads beat 1 by 5-34% on a Zen 4 EPYC)

Each figure is the best of `--repeats` measurements taken in turn (step, path, zuko, ...): on a
shared 2-core host single measurements of the same code varied by 30%, and the fastest is the one
least disturbed. Prints the table with `tfnvp train / step` and `tfnvp train / zuko`, writes
DIR/train_path.json.
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


__all__ = ["ARCHITECTURE", "main", "measure_step", "measure_train_path", "vector_set"]

ARCHITECTURE = {"num_couplings": 8, "hidden_units": 256, "hidden_layers": 2}
BATCH = 256


def vector_set(rows, dim=16):
    """A `RealData` of `rows` training rows (and rows/8 validation and test rows)."""
    from benchmarks.cases import vector_data
    from benchmarks.real_data import RealData
    held_out = max(rows // 8, BATCH)
    x = vector_data(rows + 2 * held_out, dim=dim).numpy()
    return RealData(f"vector{dim}", x[:rows], x[rows:rows + held_out], x[rows + held_out:],
                    "benchmarks.cases.vector_data (banana pairs, rotated)")


def measure_step(data, flow_batch_norm, steps=60, repeats=3):
    """Examples/s of fit's `train_step` alone: the best of `repeats` windows of `steps` calls."""
    import keras
    import tensorflow as tf

    import tfnvp
    from benchmarks.measure import time_calls, train_function

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = tfnvp.RealNVP(data.event_shape, **ARCHITECTURE, flow_batch_norm=flow_batch_norm)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.optimizer.build(model.trainable_variables)
    batch = tf.constant(data.train[:BATCH])
    seconds, _ = time_calls(train_function(model, jit=False), (batch,), steps, warmup=5,
                            repeats=repeats)
    return BATCH * steps / seconds


def measure_train_path(data, flow_batch_norm, epochs):
    """Examples/s of `tfnvp_training.train`'s training steps (epochs after the first)."""
    from benchmarks.peers import tfnvp_realnvp
    config = {"epochs": epochs, "batch_size": BATCH, "patience": 0,
              "model": {**ARCHITECTURE, "flow_batch_norm": flow_batch_norm}}
    result = tfnvp_realnvp.train(data, "defaults", seed=0, epochs=epochs, config=config)
    if result["error"]:
        raise RuntimeError(result["error"])
    return result["train_examples_per_s"]


def measure_zuko(data, epochs, threads=1):
    from benchmarks.peers import zuko_realnvp
    skipped = zuko_realnvp.available()
    if skipped:
        return None, skipped
    result = zuko_realnvp.train(data, seed=0, epochs=epochs, threads=threads)
    return result["train_examples_per_s"], None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_path", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=18_432, help="training rows (default 18,432)")
    parser.add_argument("--epochs", type=int, default=4,
                        help="epochs per training run; the first is not timed (default 4)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="measurements of each figure, the best kept (default 3)")
    parser.add_argument("--torch-threads", type=int, nargs="+", default=None,
                        help="torch intra-op threads tried for zuko, the faster kept "
                             "(default: 1 and all cores)")
    parser.add_argument("--out", default="bench-results", help="folder for train_path.json")
    args = parser.parse_args(argv)

    from benchmarks.run import machine_info
    torch_threads = sorted(set(args.torch_threads or (1, os.cpu_count() or 1)))
    data = vector_set(args.rows)
    report = {"machine": machine_info(), "rows": args.rows, "epochs": args.epochs,
              "batch": BATCH, "architecture": ARCHITECTURE, "torch_threads": torch_threads,
              "rows_measured": []}
    tic = time.perf_counter()
    measured = {"zuko": [], **{(kind, bn): [] for kind in ("step", "path") for bn in (True, False)}}
    skipped = None
    for _ in range(args.repeats):
        runs = [measure_zuko(data, args.epochs, threads) for threads in torch_threads]
        skipped = runs[0][1]
        measured["zuko"].append(None if skipped else max(speed for speed, _ in runs))
        for flow_batch_norm in (True, False):
            measured["step", flow_batch_norm].append(measure_step(data, flow_batch_norm))
            measured["path", flow_batch_norm].append(
                measure_train_path(data, flow_batch_norm, args.epochs))
    zuko = None if skipped else max(measured["zuko"])
    report["zuko_examples_per_s"], report["zuko"] = zuko, skipped or "ran"
    report["zuko_all"] = measured["zuko"]
    for flow_batch_norm in (True, False):
        step, path = (max(measured[kind, flow_batch_norm]) for kind in ("step", "path"))
        report["rows_measured"].append({
            "flow_batch_norm": flow_batch_norm, "step": step, "train_path": path,
            "train_path_over_step": path / step, "train_path_over_zuko": path / zuko if zuko
            else None, "step_all": measured["step", flow_batch_norm],
            "train_path_all": measured["path", flow_batch_norm]})
    report["seconds"] = time.perf_counter() - tic
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "train_path.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(format_table(report))


def format_table(report):
    zuko = report["zuko_examples_per_s"]
    lines = [f"Host: {report['machine']['cpu']}, {report['machine']['cores']} cores; vector "
             f"16-D, 8 couplings 2x256, batch {report['batch']}, float32, jit off",
             "", "| flow batch norm | step (ex/s) | tfnvp train (ex/s) | tfnvp train / step | "
             "zuko (ex/s) | tfnvp train / zuko |", "| --- | --- | --- | --- | --- | --- |"]
    for row in report["rows_measured"]:
        versus = f"{row['train_path_over_zuko']:.2f}x" if zuko else report["zuko"]
        lines.append(f"| {'on' if row['flow_batch_norm'] else 'off'} | {row['step']:,.0f} | "
                     f"{row['train_path']:,.0f} | {row['train_path_over_step']:.0%} | "
                     f"{zuko or 0:,.0f} | {versus} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
