"""`tfnvp sample`: draw from a trained run, `x = f^{-1}(z)`, `z ~ N(0, T^2 I)`; or, with
`--resample-from FILE --redraw-scales 0,1`, redraw only those scales of each row's latent code
and keep the others (the paper's conditional samples)."""
import argparse

from tfnvp_training import options
from tfnvp_training.errors import UsageError
from tfnvp_training.run_folder import RunFolder

HELP = "draw samples (or resample chosen scales of a file's rows) into a .png grid or a .npy"

SAMPLES, RESAMPLES_PER_ROW = 64, 8  # --num's default without and with --resample-from


def temperatures(text):
    """`"0.8"` -> 0.8; `"0.5,1.0"` -> [0.5, 1.0] (one per scale, finest first); each > 0."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or numbers separated by commas, "
                                         f"got {text!r}") from None
    if any(not v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected temperatures > 0, got {text!r}")
    return values[0] if len(values) == 1 else values


def add_arguments(parser):
    options.add_run_arguments(parser, what="use")
    parser.add_argument("--num", type=options.positive_int,
                        help=f"how many samples (default {SAMPLES}); with --resample-from, "
                             f"how many per row (default {RESAMPLES_PER_ROW})")
    parser.add_argument("--temperature", type=temperatures, default=1.0, metavar="T[,T1,...]",
                        help="prior standard deviation T (paper figures: T < 1 looks cleaner), "
                             "or one per scale, finest first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resample-from", metavar="FILE",
                        help=".npy/.npz/.csv of examples whose latent scales --redraw-scales "
                             "are redrawn (integer pixels taken at their centres, x + 0.5)")
    parser.add_argument("--redraw-scales", metavar="I,J",
                        help="with --resample-from: the scales to redraw, 0 = finest")
    parser.add_argument("--out", required=True, metavar="FILE.png|FILE.npy",
                        help=".npy: [num, *event], or [rows, num, *event] with --resample-from; "
                             ".png: a grid, or per row the original then its resamples")


def run(args):
    import os

    import numpy as np

    from tfnvp_training.pictures import image_grid, save_image, save_vector_figure

    options.check_suffix(args.out, (".png", ".npy"))
    if (args.resample_from is None) != (args.redraw_scales is None):
        raise UsageError("--resample-from FILE and --redraw-scales I,J go together; expected "
                         "both or neither.")
    model, _ = RunFolder(args.model).load_trained_model(args.checkpoint)
    if args.resample_from:
        return _resample(args, model)
    num = args.num or SAMPLES
    samples = model.sample(num, temperature=args.temperature, seed=args.seed).numpy()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.out.endswith(".npy"):
        np.save(args.out, samples)
    elif model.is_image:
        save_image(args.out, image_grid(samples, model.levels))
    else:
        save_vector_figure(args.out, None, samples)
    print(f"wrote {num} samples (T={_shown(args.temperature)}) of shape "
          f"{model.event_shape} to {os.path.abspath(args.out)}")
    return samples


def _resample(args, model):
    import os

    import numpy as np

    import tfnvp
    from tfnvp_training.data_file import read_examples
    from tfnvp_training.pictures import image_grid, save_image

    if args.out.endswith(".png") and not model.is_image:
        raise UsageError("--out .png with --resample-from needs an image model; write a .npy.")
    try:
        scales = [int(v) for v in args.redraw_scales.split(",")]
    except ValueError:
        raise UsageError(f"--redraw-scales {args.redraw_scales!r}: expected scale indices "
                         f"separated by commas (0 = finest).") from None
    x = read_examples(args.resample_from, model, flag="--resample-from").at_pixel_centres()
    num = args.num or RESAMPLES_PER_ROW
    copies = np.repeat(x.astype(model.flow_dtype.as_numpy_dtype), num, axis=0)
    try:
        out = tfnvp.resample(model, copies, scales, temperature=args.temperature,
                             seed=args.seed).numpy()
    except ValueError as e:  # name the flags, not the parameters
        raise UsageError(str(e).replace("`scales`", "--redraw-scales")
                         .replace("`temperature`", "--temperature")) from None
    out = out.reshape(len(x), num, *model.event_shape)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.out.endswith(".npy"):
        np.save(args.out, out)
    else:
        rows = np.concatenate([x[:, None], out], axis=1).reshape(-1, *model.event_shape)
        save_image(args.out, image_grid(rows, model.levels, columns=num + 1))
    print(f"wrote {num} resample(s) of each of {len(x)} rows with scale(s) {scales} redrawn "
          f"(T={_shown(args.temperature)}) to {os.path.abspath(args.out)}")
    return out


def _shown(temperature):
    return ",".join(f"{t:g}" for t in temperature) if isinstance(temperature, list) else (
        f"{temperature:g}")
