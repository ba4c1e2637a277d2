"""`python -m benchmarks.startup [--tree DIR] [--repeats N]`: how long a user waits before work.

    import tfnvp              `python -c "import tfnvp"` (TensorFlow, TFP, Keras and ours)
    tfnvp --help              the command's parser alone (no TensorFlow)
    tfnvp evaluate            a run folder of the demo's digits model: load, restore, 1 draw
    tfnvp export              the same run folder to a SavedModel
    first training step       the demo model: `fit` on one batch, the first call (tracing) and
                              the second (the step itself), without and with XLA

Each figure is the wall time of a fresh process (the best of `--repeats`), so a machine's other
load shows as noise: compare only figures from one run. `--tree DIR` measures another checkout
of tfnvp (its `tfnvp/` and `training/` folders) with this interpreter, e.g. the commit before a
change (`git worktree add /tmp/old <commit>`).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

FIRST_STEP = r"""
import time, numpy as np, keras, tensorflow as tf, tfnvp
model = tfnvp.RealNVP((8, 8, 1), levels=17, num_scales=2, num_res_blocks=2, num_filters=32)
model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile={jit})
x = (np.random.default_rng(0).integers(0, 17, (64, 8, 8, 1)) + 0.5).astype("float32")
start = time.perf_counter(); model.train_on_batch(x); first = time.perf_counter() - start
start = time.perf_counter(); model.train_on_batch(x); second = time.perf_counter() - start
print(first, second)
"""


def _environment(tree):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if tree:
        links = tempfile.mkdtemp(prefix="tfnvp-tree-")
        os.symlink(os.path.join(tree, "tfnvp"), os.path.join(links, "tfnvp"))
        os.symlink(os.path.join(tree, "training"), os.path.join(links, "tfnvp_training"))
        env["PYTHONPATH"] = links
    return env


def _timed(argv, env, cwd, repeats):
    """Best wall time of `argv` over `repeats` runs (it must succeed)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{argv} failed: {result.stderr[-2000:]}")
        best = min(best, time.perf_counter() - start)
    return best


def measure(tree=None, repeats=2):
    env = _environment(tree)
    python, cli = sys.executable, [sys.executable, "-m", "tfnvp_training.cli"]
    work = tempfile.mkdtemp(prefix="tfnvp-startup-")
    results = {"tree": tree or "this checkout"}
    results["import tfnvp"] = _timed([python, "-c", "import tfnvp"], env, work, repeats)
    results["tfnvp --help"] = _timed([*cli, "--help"], env, work, repeats)
    subprocess.run([*cli, "train", "--config", "digits", "--out", "run", "--epochs", "1",
                    "--no-jit", "--eval-draws", "1", "--quiet"], env=env, cwd=work, check=True,
                   capture_output=True)
    results["tfnvp evaluate"] = _timed([*cli, "evaluate", "--model", "run", "--eval-draws", "1"],
                                       env, work, repeats)
    results["tfnvp export"] = _timed([*cli, "export", "--model", "run", "--out", "exports"],
                                     env, work, 1)
    for jit in (False, True):
        out = subprocess.run([python, "-c", FIRST_STEP.format(jit=jit)], env=env, cwd=work,
                             capture_output=True, text=True, check=True).stdout.split()
        label = "first training step" + (" (XLA)" if jit else "")
        results[label], results[label.replace("first", "second")] = map(float, out[-2:])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", help="another checkout to measure (default: this one)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    results = measure(args.tree, args.repeats)
    for key, value in results.items():
        print(f"{key:34s} {value:8.2f} s" if isinstance(value, float) else f"{key:34s} {value}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
