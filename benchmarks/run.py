"""`python -m benchmarks.run [--quick] [--out DIR] [--cases ...]`: the whole benchmark, one run.

For each case x {jit off, on} x {float32, mixed_bfloat16}: training, log_prob and sample
examples/s, peak memory, FLOPs and achieved GFLOP/s against the measured matmul peaks; the
ratio ours / TFP reference; how training throughput grows with batch size, number of couplings
and image side; and whether mixed-precision training reaches the float32 test NLL.
Prints a table and writes DIR/results.json.
"""
import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.cases import CASES, Case, image_model, vector_data, vector_model  # noqa: E402
from benchmarks.measure import measure_model  # noqa: E402
from benchmarks.peak import matmul_peak_gflops  # noqa: E402

__all__ = ["run_case", "run_scaling", "precision_check", "machine_info", "format_table", "main"]

PRECISIONS = ("float32", "mixed_bfloat16")
# Without XLA, bfloat16 convolutions on a CPU without native bfloat16 (AVX-512 BF16 / AMX) run
# about 10x slower than float32 (measured on the digits case): one CIFAR step would take many
# minutes. Pass `--skip` with no value to run it anyway.
DEFAULT_SKIP = ("cifar:mixed_bfloat16:off",)


def machine_info():
    """CPU model and core count (lscpu), GPUs, TF and Python versions."""
    cpu = platform.processor()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(),
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "python": platform.python_version(), "load_average": list(os.getloadavg())}


def _fresh():
    keras.backend.clear_session()
    gc.collect()


def run_case(case, dtype, jit, steps, warmup, flops=True, sample_steps=None, repeats=1):
    """One row of the table: `case` (a `Case`) built in `dtype`, steps jitted or not."""
    _fresh()
    keras.utils.set_random_seed(0)
    model = case.build(dtype)
    row = {"case": case.name, "dtype": dtype, "jit": bool(jit), "batch": case.batch,
           "parameters": int(sum(np.prod(v.shape) for v in model.trainable_variables))}
    row.update(measure_model(model, case.data(case.batch), jit=jit, steps=steps, warmup=warmup,
                             flops=flops, sample_steps=sample_steps, repeats=repeats))
    return row


def run_scaling(quick, jit):
    """Training examples/s (float32) against batch size, number of couplings and image side."""
    steps, warmup, repeats = (2, 1, 1) if quick else (10, 2, 2)
    rows = []
    sweeps = [("batch", b, Case(f"vector_b{b}", vector_model, vector_data, b))
              for b in ((16, 64) if quick else (64, 256, 1024))]
    sweeps += [("couplings", k, Case(f"vector_k{k}",
                                     lambda d, k=k: vector_model(d, num_couplings=k),
                                     vector_data, 256 if not quick else 16))
               for k in ((2, 4) if quick else (4, 8, 16))]
    small_image = dict(num_res_blocks=2, num_filters=32)
    from benchmarks.cases import pixel_data
    sweeps += [("image_side", s, Case(f"image_{s}x{s}x3",
                                      lambda d, s=s: image_model(s, 3, 256, d, **small_image),
                                      lambda b, s=s: pixel_data(b, (s, s, 3), 256), 16))
               for s in ((4,) if quick else (8, 16, 32))]
    for axis, value, case in sweeps:
        _fresh()
        keras.utils.set_random_seed(0)
        model = case.build("float32")
        # XLA compiles a multi-scale image model for minutes on a CPU: image sweeps run without.
        case_jit = jit and axis != "image_side"
        result = measure_model(model, case.data(case.batch), jit=case_jit, steps=steps,
                               warmup=warmup, flops=False, sample_steps=1, repeats=repeats)
        rows.append({"axis": axis, "value": value, "case": case.name, "batch": case.batch,
                     "jit": case_jit, "train_examples_per_s": result["train_examples_per_s"]})
        print(f"  scaling {axis}={value}: {result['train_examples_per_s']:.0f} examples/s",
              flush=True)
    return rows


def precision_check(train_steps, jit, batch=256, test_size=4096):
    """Test NLL (nats/dim) of the vector case trained `train_steps` steps in each precision."""
    test = vector_data(test_size, seed=1)
    out = {"train_steps": train_steps, "batch": batch, "test_examples": test_size}
    for dtype in PRECISIONS:
        _fresh()
        keras.utils.set_random_seed(0)
        model = vector_model(dtype)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit)
        train = tf.data.Dataset.from_tensor_slices(vector_data(train_steps * batch, seed=2))
        model.fit(train.batch(batch, drop_remainder=True), epochs=1, verbose=0)
        nll = -float(tf.reduce_mean(model.log_prob(test)))
        out[f"{dtype}_test_nll_per_dim"] = nll / 16
    out["difference_per_dim"] = abs(out["mixed_bfloat16_test_nll_per_dim"]
                                   - out["float32_test_nll_per_dim"])
    return out


def format_table(rows, peaks):
    header = (f"{'case':<12}{'dtype':<16}{'jit':<5}{'batch':>6}{'train ex/s':>12}"
              f"{'log_prob ex/s':>15}{'sample ex/s':>13}{'GFLOP/s':>9}{'% f32 peak':>11}"
              f"{'peak MB':>9}{'1st call s':>11}")
    lines = [header, "-" * len(header)]
    f32_peak = peaks["float32"]
    for r in rows:
        gflops = r.get("train_gflops_per_s")
        lines.append(
            f"{r['case']:<12}{r['dtype']:<16}{'on' if r['jit'] else 'off':<5}{r['batch']:>6}"
            f"{r['train_examples_per_s']:>12.0f}{r['log_prob_examples_per_s']:>15.0f}"
            f"{r['sample_examples_per_s']:>13.0f}"
            f"{(f'{gflops:.1f}' if gflops else '-'):>9}"
            f"{(f'{100 * gflops / f32_peak:.0f}%' if gflops else '-'):>11}"
            f"{r['peak_memory_mb']:>9.0f}{r['train_first_call_s']:>11.1f}")
    return "\n".join(lines)


def _percent_of_peak(row, peaks):
    for dtype, peak in peaks.items():
        row[f"pct_of_{dtype}_peak"] = 100 * row["train_gflops_per_s"] / peak


def _ratios(rows):
    """ours / reference training examples/s for each (dtype, jit) measured for both."""
    ratios = []
    for r in rows:
        ref_name = CASES[r["case"]].reference if r["case"] in CASES else None
        for ref in rows:
            if ref_name and ref["case"] == ref_name and (ref["dtype"], ref["jit"]) == (
                    r["dtype"], r["jit"]):
                ratios.append({"case": r["case"], "reference": ref_name, "dtype": r["dtype"],
                               "jit": r["jit"], "train_ratio": r["train_examples_per_s"]
                               / ref["train_examples_per_s"],
                               "log_prob_ratio": r["log_prob_examples_per_s"]
                               / ref["log_prob_examples_per_s"],
                               # TFP recomputes each coupling's network for the log-det.
                               "flops_per_example": r.get("train_flops_per_example"),
                               "reference_flops_per_example": ref.get("train_flops_per_example")})
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench-results", help="directory for results.json")
    parser.add_argument("--quick", action="store_true", help="smoke run: few steps, small cases")
    parser.add_argument("--cases", nargs="+", default=None, choices=sorted(CASES),
                        help="cases to run (default: all; --quick: all but cifar)")
    parser.add_argument("--jit", nargs="+", default=["off", "on"], choices=["off", "on"])
    parser.add_argument("--dtypes", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--skip", nargs="*", default=list(DEFAULT_SKIP),
                        help="CASE:DTYPE:JIT triples not to run (default: %(default)s)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling sweeps")
    parser.add_argument("--precision-steps", type=int, default=None,
                        help="training steps of the mixed-precision NLL check (0 = skip)")
    args = parser.parse_args(argv)
    started = time.time()
    names = args.cases or [n for n in CASES if not (args.quick and n == "cifar")]
    # Measured at the start and again at the end of the run; the table uses the larger.
    peaks = {"float32": matmul_peak_gflops("float32", n=1024 if args.quick else 2048),
             "bfloat16": matmul_peak_gflops("bfloat16", n=1024 if args.quick else 2048)}
    print(f"matmul peak: float32 {peaks['float32']:.1f} GFLOP/s, "
          f"bfloat16 {peaks['bfloat16']:.1f} GFLOP/s", flush=True)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results.json")
    result = {"machine": machine_info(), "matmul_peak_gflops": peaks,
              "matmul_peak_gflops_start": dict(peaks), "quick": args.quick,
              "memory_note": "CPU: process RSS high-water (VmHWM) after a reset, whole process; "
                             "GPU: tf.config.experimental.get_memory_info peak",
              "flops_note": "tf.compat.v1.profiler float_ops on the traced graph of one step",
              "skipped": args.skip}

    def save():  # after every measurement, so an interrupted run keeps what it measured
        result["seconds"] = time.time() - started
        with open(path, "w") as f:
            json.dump(result, f, indent=2)

    rows = result["results"] = []
    for name in names:
        # (timed steps per window, warm-up calls, windows): the best window is reported.
        steps, warmup, repeats = {"cifar": (1, 1, 1), "digits": (5, 2, 2)}.get(name, (20, 3, 3))
        if args.quick:
            steps, warmup, repeats = (1, 1, 1) if name == "cifar" else (3, 1, 1)
        for dtype in args.dtypes:
            for jit in args.jit:
                if f"{name}:{dtype}:{jit}" in args.skip:
                    print(f"skipped {name} {dtype} jit {jit} (--skip)", flush=True)
                    continue
                row = run_case(CASES[name], dtype, jit == "on", steps, warmup,
                               sample_steps=1 if name == "cifar" else None, repeats=repeats)
                _percent_of_peak(row, peaks)
                rows.append(row)
                result["ratios"] = _ratios(rows)
                save()
                print(format_table([row], peaks).splitlines()[-1], flush=True)
    if not args.no_scaling:
        result["scaling"] = run_scaling(args.quick, jit=True)
        save()
    precision_steps = args.precision_steps
    if precision_steps is None:
        precision_steps = 20 if args.quick else 2000
    if precision_steps:
        result["precision_check"] = precision_check(precision_steps, jit=True)
    # The peak again at the end: on a shared machine the larger of the two is the better estimate.
    for dtype in peaks:
        again = matmul_peak_gflops(dtype, n=1024 if args.quick else 2048)
        result.setdefault("matmul_peak_gflops_end", {})[dtype] = again
        peaks[dtype] = max(peaks[dtype], again)
    for row in rows:
        _percent_of_peak(row, peaks)
    save()
    print()
    print(format_table(rows, peaks))
    for r in result["ratios"]:
        print(f"{r['case']} / {r['reference']} ({r['dtype']}, jit {'on' if r['jit'] else 'off'}):"
              f" train x{r['train_ratio']:.2f}, log_prob x{r['log_prob_ratio']:.2f}")
    if "precision_check" in result:
        print("precision check:", json.dumps(result["precision_check"]))
    print(f"wrote {path} ({result['seconds']:.0f} s)")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
