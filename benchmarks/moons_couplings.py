"""`python -m benchmarks.moons_couplings [--couplings 1,2,4,8,16,32] [--epochs N] [--out DIR]`:
how the number of coupling layers shapes a Real NVP on two moons (the experiment of seed 001).

For each count k: `tfnvp train --config moons --coupling-layers k` (the packaged config: MLP
conditioners 2 x 64, flow batch norm, Adam, early stopping on the validation NLL, best weights
restored), then the test NLL (nats per point, 2,000 points), the training time, and two pictures
of every model side by side: the learned density and the latent image `f(x)` of the test points,
coloured by moon. Writes DIR/moons_couplings.{json,md,png} and DIR/k<k>/ (the run folders, with
`tfnvp plot`'s figure as plot.png).
"""
import argparse
import contextlib
import io
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

__all__ = ["main", "train_one"]

COUPLINGS = (1, 2, 4, 8, 16, 32)


def train_one(couplings, out, epochs, seed):
    """Trains the moons config with `couplings` couplings into `out`; returns its row."""
    from tfnvp import data
    from tfnvp_training.cli import main as tfnvp
    from tfnvp_training.evaluation import evaluate_split
    from tfnvp_training.run_folder import RunFolder

    start = time.perf_counter()
    argv = ["train", "--config", "moons", "--coupling-layers", str(couplings), "--out", out,
            "--seed", str(seed), "--quiet", "--overwrite"]
    if epochs:
        argv += ["--epochs", str(epochs)]
    with contextlib.redirect_stdout(io.StringIO()):
        status = tfnvp(argv)
    if status != 0:
        raise RuntimeError(f"tfnvp {' '.join(argv)} exited with {status}")
    seconds = time.perf_counter() - start
    run_folder = RunFolder(out)
    config = run_folder.read_config()
    model, _ = run_folder.load_trained_model()
    bundle = data.load("moons", seed=config["seed"])
    result = evaluate_split(model, bundle.test, batch_size=1000, seed=config["seed"])
    epochs_run = len(open(run_folder.metrics_csv).read().strip().splitlines()) - 1
    with contextlib.redirect_stdout(io.StringIO()):
        tfnvp(["plot", "--model", out, "--out", os.path.join(out, "plot.png")])
    return {"couplings": couplings, "test_nll": result["nll"], "epochs": epochs_run,
            "seconds": seconds, "run": out}


def side_by_side(path, rows, resolution=120):
    """Density (top) and latent image of the test points (bottom), one column per count."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tfnvp import data
    from tfnvp_training.pictures import group_colours
    from tfnvp_training.plot_command import clusters
    from tfnvp_training.run_folder import RunFolder

    points = np.stack(list(data.load("moons", seed=0).test.as_numpy_iterator())).astype(
        np.float32)
    colours = group_colours(clusters(points))
    low, high = points.min(0) - 0.3, points.max(0) + 0.3
    xs, ys = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2).astype(np.float32)
    fig, axes = plt.subplots(2, len(rows), figsize=(2.6 * len(rows), 5.4), squeeze=False)
    for column, row in enumerate(rows):
        model, _ = RunFolder(row["run"]).load_trained_model()
        density = np.exp(np.asarray(model.log_prob(grid), np.float64))
        top, bottom = axes[0, column], axes[1, column]
        top.imshow(density.reshape(resolution, resolution), origin="lower", cmap="viridis",
                   extent=(low[0], high[0], low[1], high[1]), aspect="auto")
        top.set_title(f"{row['couplings']} coupling(s)\ntest NLL {row['test_nll']:.3f}",
                      fontsize=9)
        z = np.asarray(model.encode(points))
        bottom.scatter(z[:, 0], z[:, 1], s=1, c=colours, alpha=0.6)
        bottom.set(xlim=(-4, 4), ylim=(-4, 4))
        bottom.set_aspect("equal", adjustable="box")
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("learned density p(x)")
    axes[1, 0].set_ylabel("latent f(x), by moon")
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def format_table(rows):
    lines = ["| couplings | test NLL (nats/point) | epochs (early stop) | training time (s) |",
             "| --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['couplings']} | {r['test_nll']:.3f} | {r['epochs']} | "
                     f"{r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--couplings", default=",".join(map(str, COUPLINGS)),
                        help="coupling counts, comma-separated")
    parser.add_argument("--epochs", type=int, help="epochs at most (default: the config's 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-results/moons_couplings")
    args = parser.parse_args(argv)

    from benchmarks.run import machine_info
    from benchmarks.using_the_density import shrink_png

    os.makedirs(args.out, exist_ok=True)
    rows = []
    for couplings in (int(c) for c in args.couplings.split(",")):
        rows.append(train_one(couplings, os.path.join(args.out, f"k{couplings}"), args.epochs,
                              args.seed))
        print(f"  {rows[-1]}", flush=True)
    side_by_side(os.path.join(args.out, "moons_couplings.png"), rows)
    for path in [os.path.join(args.out, "moons_couplings.png"),
                 *(os.path.join(row["run"], "plot.png") for row in rows)]:
        shrink_png(path)
    table = format_table(rows)
    with open(os.path.join(args.out, "moons_couplings.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(args.out, "moons_couplings.json"), "w") as f:
        json.dump({"machine": machine_info(), "seed": args.seed, "rows": rows}, f, indent=2)
    print(table)
    print(f"wrote {args.out}/moons_couplings.{{json,md,png}}")
    return rows


if __name__ == "__main__":
    sys.exit(main() and 0)
