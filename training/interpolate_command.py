"""`tfnvp interpolate`: latent paths between examples of a file, and the paper's 2-D manifold."""
from tfnvp_training import options
from tfnvp_training.errors import UsageError
from tfnvp_training.run_folder import RunFolder

HELP = "decode latent interpolations between rows of a file into a .png grid or a .npy array"


def add_arguments(parser):
    options.add_run_arguments(parser, what="use")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help=".npy/.npz/.csv, one example a row (integer pixels are taken at "
                             "their centres, x + 0.5)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--pairs", default="0:1", metavar="A:B,C:D",
                       help="row pairs to interpolate between, one output row each (default 0:1)")
    which.add_argument("--manifold", metavar="I,J,K,L",
                       help="four rows spanning the paper's manifold z(u, v) = cos u (cos v z_I + "
                            "sin v z_J) + sin u (cos v z_K + sin v z_L)")
    parser.add_argument("--num", type=options.at_least(2), default=8,
                        help="examples per path, both ends included")
    parser.add_argument("--grid", type=options.at_least(2), default=8,
                        help="manifold: grid x grid examples")
    parser.add_argument("--path", choices=("spherical", "linear"), default="spherical",
                        help="spherical: slerp of the latents (keeps |z| typical); linear")
    parser.add_argument("--out", required=True, metavar="FILE.png|FILE.npy",
                        help=".npy: [pairs, num, *event] or [grid, grid, *event]; .png: one row "
                             "per pair, or the grid")


def parse_pairs(text, count):
    """`"0:1,2:3"` -> `[(0, 1), (2, 3)]`, each index a row of a file of `count` rows."""
    pairs = []
    for item in text.split(","):
        ends = item.split(":")
        if len(ends) != 2:
            raise UsageError(f"--pairs {text!r}: expected pairs of row indices A:B separated by "
                             f"commas (e.g. 0:1,2:3).")
        pairs.append(tuple(parse_rows(item, count, "--pairs", separator=":")))
    return pairs


def parse_rows(text, count, flag, separator=","):
    """Row indices `"0,1,2"` of a file of `count` rows (each checked)."""
    try:
        rows = [int(v) for v in text.split(separator)]
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected integer row indices.") from None
    bad = [r for r in rows if not 0 <= r < count]
    if bad:
        raise UsageError(f"{flag}: row {bad[0]} is outside the file's {count} rows (0.."
                         f"{count - 1}).")
    return rows


def run(args):
    import os

    import numpy as np

    import tfnvp
    from tfnvp_training.data_file import read_examples
    from tfnvp_training.pictures import image_grid, save_image

    options.check_suffix(args.out, (".png", ".npy"))
    model, _ = RunFolder(args.model).load_trained_model(args.checkpoint)
    if args.out.endswith(".png") and not model.is_image:
        raise UsageError("--out .png needs an image model; this one models vectors of shape "
                         f"{model.event_shape}: write a .npy.")
    examples = read_examples(args.data, model)
    x = examples.at_pixel_centres()
    if args.manifold:
        rows = parse_rows(args.manifold, len(x), "--manifold")
        if len(rows) != 4:
            raise UsageError(f"--manifold {args.manifold!r}: expected four row indices I,J,K,L.")
        result = tfnvp.manifold(model, *(x[r] for r in rows), grid=args.grid).numpy()
        columns, what = args.grid, f"a {args.grid}x{args.grid} manifold through rows {rows}"
    else:
        pairs = parse_pairs(args.pairs, len(x))
        result = np.stack([tfnvp.interpolate(model, x[a], x[b], num=args.num,
                                             path=args.path).numpy() for a, b in pairs])
        columns, what = args.num, f"{len(pairs)} {args.path} path(s) of {args.num}"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.out.endswith(".npy"):
        np.save(args.out, result)
    else:
        save_image(args.out, image_grid(result.reshape(-1, *model.event_shape), model.levels,
                                        columns=columns))
    print(f"wrote {what} to {os.path.abspath(args.out)}")
    return result
