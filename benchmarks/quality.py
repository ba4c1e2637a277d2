"""`python -m benchmarks.quality [--sets ...] [--seeds N] [--epochs N] [--runs ...]`: test NLL of
tfnvp and zuko's RealNVP on real vector data (`benchmarks.real_data`), measured in one run.

For every set x run x seed: train on the set's train split, keep the best validation epoch,
report the test NLL (nats per example), the best epoch, training examples/s and wall time.
Prints a markdown table (mean +- std over seeds) and writes DIR/quality.json (every run with
its per-epoch training and validation NLL curves, the machine, each set's Gaussian baseline)
and DIR/quality.md; both are rewritten after every run, so a stopped run keeps what it did.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks import real_data  # noqa: E402
from benchmarks.peers import tfnvp_realnvp, zuko_realnvp  # noqa: E402

__all__ = ["RUNS", "format_table", "main", "summarise"]

RUNS = ("zuko", *tfnvp_realnvp.RUNS)


def run_one(data, run, seed, epochs, torch_threads=None):
    if run == "zuko":
        result = zuko_realnvp.train(data, seed=seed, epochs=epochs, threads=torch_threads)
    else:
        result = tfnvp_realnvp.train(data, run, seed=seed, epochs=epochs)
    return {**result, **climbs(result["train_nll"])}


def climbs(curve):
    """How the training NLL went up: `largest_climb` (nats above its best so far, at most),
    `longest_climb` (most epochs in a row spent above that best) and `longest_rise` (most
    epochs in a row each higher than the one before)."""
    curve = np.asarray(curve, np.float64)
    largest, longest, rise, best = 0.0, 0, 0, np.inf
    above = rising = 0
    for e, value in enumerate(curve):
        if not np.isfinite(value):
            continue
        largest = max(largest, value - best) if np.isfinite(best) else largest
        above = above + 1 if value > best else 0
        rising = rising + 1 if e and value > curve[e - 1] else 0
        longest, rise, best = max(longest, above), max(rise, rising), min(best, value)
    return {"largest_climb": float(largest), "longest_climb": int(longest),
            "longest_rise": int(rise)}


def summarise(results):
    """Rows `(set, run)` -> mean/std of test NLL, best epoch, ex/s, seconds over the seeds."""
    groups = {}
    for r in results:
        groups.setdefault((r["set"], r["run"]), []).append(r)
    rows = []
    for (name, run), group in groups.items():
        ok = [r for r in group if r["error"] is None and np.isfinite(r["test_nll"])]
        nll = [r["test_nll"] for r in ok]
        rows.append({"set": name, "run": run, "seeds": len(group), "failed": len(group) - len(ok),
                     "test_nll_mean": float(np.mean(nll)) if nll else float("nan"),
                     "test_nll_std": float(np.std(nll)) if nll else float("nan"),
                     "best_epoch_mean": float(np.mean([r["best_epoch"] for r in ok]))
                     if ok else float("nan"),
                     "epochs_run_mean": float(np.mean([r["epochs_run"] for r in group])),
                     "train_examples_per_s": float(np.mean([r["train_examples_per_s"]
                                                            for r in group])),
                     "largest_climb": max(r.get("largest_climb", 0.0) for r in group),
                     "longest_climb": max(r.get("longest_climb", 0) for r in group),
                     "seconds_mean": float(np.mean([r["seconds"] for r in group]))})
    return rows


def format_table(rows, gaussians):
    lines = ["| set | run | test NLL (nats, mean +- std) | seeds | best epoch | epochs run | "
             "training NLL climb (nats / epochs, worst seed) | train ex/s | time (s) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in dict.fromkeys(r["set"] for r in rows):
        lines.append(f"| {name} | Gaussian (full covariance) | {gaussians[name]:.2f} | | | | | | |")
        for r in (r for r in rows if r["set"] == name):
            failed = f" ({r['failed']} failed)" if r["failed"] else ""
            lines.append(f"| | {r['run']} | {r['test_nll_mean']:.2f} +- {r['test_nll_std']:.2f} | "
                         f"{r['seeds']}{failed} | {r['best_epoch_mean']:.1f} | "
                         f"{r['epochs_run_mean']:.1f} | {r['largest_climb']:.2f} / "
                         f"{r['longest_climb']} | {r['train_examples_per_s']:,.0f} | "
                         f"{r['seconds_mean']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(real_data.VECTOR_SETS),
                        choices=real_data.VECTOR_SETS, help="vector sets (default: all)")
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=RUNS,
                        help="zuko and the tfnvp runs (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds 0..N-1 (default 3)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override every run's epochs (default: zuko's protocol 60, the "
                             "configs' own for defaults/tabular)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="zuko's torch intra-op threads (default 1: on 2 shared cores torch "
                             "with 2 threads ran 10x slower, 331 vs 3,167 ex/s)")
    parser.add_argument("--data-dir", default=None, help="real-data cache (default bench-data/)")
    parser.add_argument("--out", default="bench-results", help="folder for quality.json/.md")
    args = parser.parse_args(argv)

    from benchmarks.run import machine_info
    runs = list(args.runs)
    skipped = zuko_realnvp.available()
    if skipped and "zuko" in runs:
        print(skipped, file=sys.stderr)
        runs.remove("zuko")
    sets = {name: real_data.load(name, args.data_dir) for name in args.sets}
    gaussians = {name: real_data.gaussian_nll(data) for name, data in sets.items()}
    report = {"machine": machine_info(), "sets": {n: d.describe() for n, d in sets.items()},
              "gaussian_test_nll": gaussians, "epochs_override": args.epochs,
              "torch_threads": args.torch_threads,
              "zuko": skipped or "ran", "results": []}
    os.makedirs(args.out, exist_ok=True)
    for name, data in sets.items():
        print(data.describe(), f"| Gaussian test NLL {gaussians[name]:.2f}", flush=True)
        for run in runs:
            for seed in range(args.seeds):
                tic = time.perf_counter()
                result = {"set": name, **run_one(data, run, seed, args.epochs,
                                                     args.torch_threads)}
                report["results"].append(result)
                print(f"  {run:20s} seed {seed}: test NLL {result['test_nll']:9.3f}  best epoch "
                      f"{result['best_epoch']}/{result['epochs_run']}  climb "
                      f"{result['largest_climb']:.2f} nats / {result['longest_climb']} epochs  "
                      f"{result['train_examples_per_s']:,.0f} ex/s  "
                      f"{time.perf_counter() - tic:.0f} s"
                      + (f"  ERROR {result['error']}" if result["error"] else ""), flush=True)
                _write(args.out, report, gaussians)
    print(format_table(report["summary"], gaussians))


def _write(folder, report, gaussians):
    report["summary"] = summarise(report["results"])
    with open(os.path.join(folder, "quality.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(folder, "quality.md"), "w") as f:
        f.write(f"Host: {report['machine']['cpu']}, {report['machine']['cores']} cores\n\n")
        f.write(format_table(report["summary"], gaussians) + "\n")


if __name__ == "__main__":
    main()
