"""`python -m benchmarks.using_the_density --model RUN [--examples N] [--out DIR]`: what a trained
digits model does beyond its likelihood, measured in one run (the numbers of
docs/using_the_density.md).

* Completion, bottom half hidden, on the first N held-out digits (at pixel centres): the mean
  squared error on the hidden pixels of each method (`tfnvp.complete`: map, one draw of
  sample, mean) and of filling them with the training mean, the mean log p of each result, and
  the wall time.
* Out-of-distribution scores: `tfnvp score` on the 360 held-out digits against sets made from
  them (noise, inverted, upside down, shifted, blurred, blank), the AUROC of -log p as the
  score for "not a digit", and each set's mean bits/dim.

Writes DIR/using_the_density.json and prints two markdown tables; `--pictures DIR` also makes
the pictures of the page with the `tfnvp` commands (interpolate, complete, sample
--resample-from).
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

__all__ = ["completion_table", "main", "ood_sets", "ood_table"]


METHODS = ("map", "sample", "mean")


def completion_table(model, train, test, *, examples, seed, batch_size, methods=METHODS):
    """Rows `{method, mse, mse_ratio, log_prob, seconds}` for the bottom half hidden: the
    truth, the training-mean fill, then each of `methods`."""
    import tfnvp

    x = (test[:examples] + 0.5).astype(np.float32)  # pixels at their centres
    observed = np.ones(x.shape, bool)
    observed[:, x.shape[1] // 2:] = False
    hidden = ~observed

    def row(method, completed, seconds):
        completed = np.clip(np.asarray(completed, np.float64), 0, model.levels)
        mse = float(np.mean((completed - x)[hidden] ** 2))
        log_p = float(np.mean(model.log_prob(completed.astype(np.float32))))
        return {"method": method, "mse": mse, "log_prob": log_p, "seconds": seconds}

    rows = [row("truth", x, 0.0),
            row("training mean", np.where(observed, x, train.mean(0) + 0.5), 0.0)]
    for method in methods:
        start = time.perf_counter()
        completed = tfnvp.complete(model, x, observed, method, seed=seed, batch_size=batch_size)
        seconds = time.perf_counter() - start
        if method == "sample":  # one draw per input: the error of a single plausible fill
            completed = completed[:, 0]
        rows.append(row(method, completed, seconds))
        print(f"  {method}: {rows[-1]}", flush=True)
    baseline = rows[1]["mse"]
    for r in rows:
        r["mse_ratio"] = r["mse"] / baseline
    return rows


def ood_sets(test, levels, seed=0):
    """Integer image sets `[N, H, W, 1]` made from the held-out digits `test`."""
    from scipy.ndimage import uniform_filter

    rng = np.random.default_rng(seed)
    top = levels - 1
    return {
        "uniform noise": rng.integers(0, levels, test.shape).astype(np.float64),
        "inverted (L-1-x)": top - test,
        "upside down": test[:, ::-1],
        "shifted 2 px right": np.roll(test, 2, axis=2),
        "blurred (3x3 mean)": np.round(uniform_filter(test, size=(1, 3, 3, 1))),
        "blank (all 0)": np.zeros_like(test),
    }


def ood_table(model, test, *, draws, seed, batch_size):
    """Rows `{set, bits_per_dim, auroc}`: AUROC of -log p separating each set from `test`."""
    from sklearn.metrics import roc_auc_score

    from tfnvp import nats_to_bits_per_dim
    from tfnvp_training.data_file import Examples
    from tfnvp_training.score_command import score

    def scores(x):
        return score(model, Examples(x, integer=True), draws=draws, seed=seed,
                     batch_size=batch_size)

    inside = scores(test)
    rows = [{"set": "held-out digits", "bits_per_dim":
             float(np.mean(nats_to_bits_per_dim(-inside, model.num_dims))), "auroc": None}]
    for name, x in ood_sets(test, model.levels, seed).items():
        outside = scores(x)
        labels = np.r_[np.zeros(len(inside)), np.ones(len(outside))]
        auroc = roc_auc_score(labels, -np.r_[inside, outside])
        rows.append({"set": name, "auroc": float(auroc),
                     "bits_per_dim": float(np.mean(nats_to_bits_per_dim(-outside,
                                                                        model.num_dims)))})
        print(f"  {rows[-1]}", flush=True)
    return rows


# Rows of the 360 held-out digits (seed 0 split) by class: 0 -> 12, 1 -> 9, 2 -> 3, 3 -> 18,
# 4 -> 13, 5 -> 4, 6 -> 0, 7 -> 27, 8 -> 33, 9 -> 11.
PAIRS = "12:9,3:18,13:4,0:27,33:11"  # 0-1, 2-3, 4-5, 6-7, 8-9
MANIFOLD = "12,9,0,27"  # 0, 1, 6, 7


def pictures(run, test, folder, seed):
    """The pictures of docs/using_the_density.md, made with the `tfnvp` commands."""
    import contextlib
    import io
    import tempfile

    from tfnvp_training.cli import main as tfnvp
    from tfnvp_training.pictures import completion_picture, save_image

    def command(*argv):
        with contextlib.redirect_stdout(io.StringIO()):
            status = tfnvp([str(a) for a in argv])
        if status != 0:
            raise RuntimeError(f"tfnvp {' '.join(map(str, argv))} exited with {status}")

    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        digits = os.path.join(scratch, "digits.npy")
        np.save(digits, test.astype(np.int64))
        first = os.path.join(scratch, "first.npy")
        np.save(first, test[:12].astype(np.int64))
        command("interpolate", "--model", run, "--data", digits, "--pairs", PAIRS, "--num", 10,
                "--out", os.path.join(folder, "interpolation.png"))
        command("interpolate", "--model", run, "--data", digits, "--manifold", MANIFOLD,
                "--grid", 8, "--out", os.path.join(folder, "manifold.png"))
        completed = {}
        for method in ("map", "mean", "sample"):
            out = os.path.join(scratch, f"{method}.npy")
            command("complete", "--model", run, "--data", first, "--mask", "bottom-half",
                    "--method", method, "--samples", 8, "--seed", seed, "--out", out)
            completed[method] = np.load(out)
        x = test[:12] + 0.5
        observed = np.ones(x.shape, bool)
        observed[:, x.shape[1] // 2:] = False
        rows = [completed["map"], completed["mean"], completed["sample"][:, 0],
                completed["sample"][:, 1]]
        save_image(os.path.join(folder, "completion.png"),
                   completion_picture(x, observed, rows, levels=17), scale=4)
        for scale, name in ((0, "finest"), (1, "coarsest")):
            command("sample", "--model", run, "--resample-from", first, "--redraw-scales",
                    scale, "--num", 7, "--temperature", 0.8, "--seed", seed, "--out",
                    os.path.join(folder, f"resample_{name}.png"))
    for name in os.listdir(folder):
        if name.endswith(".png"):
            shrink_png(os.path.join(folder, name))


def shrink_png(path, colors=64, min_width=400):
    """Rewrites the PNG at `path` with a palette of `colors` colours (a few times smaller),
    enlarged by a whole factor (nearest neighbour) to at least `min_width` pixels."""
    from PIL import Image
    with Image.open(path) as image:
        image = image.convert("RGB")
    factor = -(-min_width // image.width)
    if factor > 1:
        image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def format_tables(result):
    lines = ["| method | hidden-pixel MSE | vs training mean | mean log p (nats) | time (s) |",
             "| --- | --- | --- | --- | --- |"]
    for r in result.get("completion", []):
        lines.append(f"| {r['method']} | {r['mse']:.2f} | {r['mse_ratio']:.2f} | "
                     f"{r['log_prob']:.1f} | {r['seconds']:.0f} |")
    lines += ["", "| set | mean bits/dim | AUROC of -log p vs held-out digits |",
              "| --- | --- | --- |"]
    for r in result["ood"]:
        auroc = "" if r["auroc"] is None else f"{r['auroc']:.3f}"
        lines.append(f"| {r['set']} | {r['bits_per_dim']:.3f} | {auroc} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a digits run folder ('tfnvp train "
                        "--config digits --out RUN')")
    parser.add_argument("--examples", type=int, default=100,
                        help="held-out digits to complete (the first N of the 360)")
    parser.add_argument("--batch-size", type=int, default=50, help="inputs per completion pass")
    parser.add_argument("--draws", type=int, default=4, help="dequantisation draws for scores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="completion methods to measure, comma-separated ('' for none)")
    parser.add_argument("--skip-completion", action="store_true")
    parser.add_argument("--pictures", metavar="DIR", help="also write the pictures there")
    parser.add_argument("--out", default="bench-results", help="folder for the JSON")
    args = parser.parse_args(argv)

    from benchmarks.run import machine_info
    from tfnvp import data
    from tfnvp_training.run_folder import RunFolder

    run_folder = RunFolder(args.model)
    config = run_folder.read_config()
    model, _ = run_folder.load_trained_model()
    bundle = data.load(config["data"], seed=config["seed"])
    train = np.stack(list(bundle.train.as_numpy_iterator())).astype(np.float64)
    test = np.stack(list(bundle.test.as_numpy_iterator())).astype(np.float64)
    result = {"machine": machine_info(), "model": run_folder.path, "examples": args.examples}
    if not args.skip_completion:
        print(f"completion of {args.examples} held-out digits, bottom half hidden", flush=True)
        methods = [m for m in args.methods.split(",") if m]
        result["completion"] = completion_table(model, train, test, examples=args.examples,
                                                seed=args.seed, batch_size=args.batch_size,
                                                methods=methods)
    print(f"scores of the {len(test)} held-out digits and sets made from them", flush=True)
    result["ood"] = ood_table(model, test, draws=args.draws, seed=args.seed,
                              batch_size=config["batch_size"])
    if args.pictures:
        print(f"pictures into {args.pictures}", flush=True)
        pictures(run_folder.path, test, args.pictures, args.seed)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "using_the_density.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(format_tables(result))
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
