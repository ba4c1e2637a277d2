"""`tfnvp complete`: fill the hidden entries of examples from a run's model (inpainting)."""
from tfnvp_training import options
from tfnvp_training.errors import UsageError
from tfnvp_training.run_folder import RunFolder

HELP = "complete hidden entries of a file's examples (map / sample / mean) into .npy or .png"

REGIONS = ("bottom-half", "top-half", "left-half", "right-half", "center")


def add_arguments(parser):
    options.add_run_arguments(parser, what="use")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help=".npy/.npz/.csv, one example a row (integer pixels are taken at "
                             "their centres, x + 0.5)")
    parser.add_argument("--mask", required=True,
                        metavar="{" + ",".join(REGIONS) + ",random:P,MASK.npy}",
                        help="what is hidden: an image region (center: the central square of "
                             "half the height and width), each entry with probability P "
                             "(seeded), or a boolean MASK.npy shaped like one example or like "
                             "the data, True = known")
    parser.add_argument("--method", choices=("mean", "map", "sample"), default="mean",
                        help="mean: the average of MCMC draws of p(hidden | known), the best "
                             "guess under squared error; map: likelihood ascent (a "
                             "high-density guess, not a faithful one); sample: the draws")
    parser.add_argument("--samples", type=options.positive_int, default=8,
                        help="MCMC chains per example (sample, mean)")
    parser.add_argument("--steps", type=options.positive_int,
                        help="Adam steps (map) or HMC transitions per chain, half of them "
                             "burn-in (sample, mean); default: tfnvp.complete's for the method")
    parser.add_argument("--seed", type=int, default=0, help="seeds the chains and random:P")
    parser.add_argument("--batch-size", type=options.positive_int,
                        help="examples per pass (default: the run's batch size); a pass "
                             "holds batch size x samples chains")
    parser.add_argument("--out", required=True, metavar="OUT.npy|OUT.png",
                        help=".npy: completed values in raw units, clipped to [0, levels), "
                             "[N, ...] (map, mean) or [N, samples, ...] (sample); .png: rows "
                             "original / masked / completed")


def observed_mask(spec, model, shape, seed):
    """The boolean `observed` array `shape` (`[N, *event]`; True = known) that `--mask spec`
    describes."""
    import numpy as np

    if spec in REGIONS:
        if not model.is_image:
            raise UsageError(f"--mask {spec} needs an image model; this one models vectors of "
                             f"shape {model.event_shape}: use random:P or a MASK.npy.")
        return np.broadcast_to(_region(spec, model.event_shape), shape).copy()
    if spec.startswith("random:"):
        try:
            p = float(spec.split(":", 1)[1])
        except ValueError:
            p = None
        if p is None or not 0 < p < 1:
            raise UsageError(f"--mask {spec!r}: expected random:P with P in (0, 1), the chance "
                             f"that an entry is hidden.")
        return np.random.default_rng(seed).random(shape) >= p
    if spec.endswith(".npy"):
        return _mask_file(spec, model, shape)
    raise UsageError(f"--mask {spec!r}: expected one of {', '.join(REGIONS)}, random:P or a "
                     f"boolean .npy file.")


def _region(name, event_shape):
    import numpy as np

    height, width, _ = event_shape
    rows, cols = np.arange(height)[:, None, None], np.arange(width)[None, :, None]
    half_h, half_w = max(height // 2, 1), max(width // 2, 1)
    hidden = {"bottom-half": rows >= height - half_h, "top-half": rows < half_h,
              "right-half": cols >= width - half_w, "left-half": cols < half_w,
              "center": ((rows >= height // 4) & (rows < height // 4 + half_h)
                         & (cols >= width // 4) & (cols < width // 4 + half_w))}[name]
    return ~np.broadcast_to(hidden, event_shape)


def _mask_file(path, model, shape):
    import os

    import numpy as np

    if not os.path.isfile(path):
        raise UsageError(f"--mask {path!r} does not exist (expected a boolean .npy file).")
    try:
        mask = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UsageError(f"--mask {path} is unreadable: {str(e).splitlines()[0]}") from None
    if mask.dtype != bool:
        raise UsageError(f"--mask {path} has dtype {mask.dtype}; expected a boolean array "
                         f"(True = known).")
    event = tuple(model.event_shape)
    if model.is_image and event[-1] == 1 and mask.shape in (event[:-1], shape[:-1]):
        mask = mask[..., None]
    if mask.shape not in (event, tuple(shape)):
        raise UsageError(f"--mask {path} has shape {mask.shape}; expected one example's "
                         f"{event} or the data's {tuple(shape)}.")
    return np.broadcast_to(mask, shape).copy()


def run(args):
    import os
    import time

    import numpy as np

    import tfnvp
    from tfnvp_training.data_file import read_examples
    from tfnvp_training.pictures import completion_picture, save_image

    options.check_suffix(args.out, (".png", ".npy"))
    run_folder = RunFolder(args.model)
    config = run_folder.read_config()
    model, _ = run_folder.load_trained_model(args.checkpoint)
    if args.out.endswith(".png") and not model.is_image:
        raise UsageError("--out .png needs an image model; this one models vectors of shape "
                         f"{model.event_shape}: write a .npy.")
    examples = read_examples(args.data, model)
    x = examples.at_pixel_centres().astype(model.flow_dtype.as_numpy_dtype)
    observed = observed_mask(args.mask, model, x.shape, args.seed)
    start = time.perf_counter()
    completed = tfnvp.complete(model, x, observed, args.method, steps=args.steps,
                               samples=args.samples, seed=args.seed,
                               batch_size=args.batch_size or config["batch_size"]).numpy()
    seconds = time.perf_counter() - start
    if model.levels is not None:  # the data's range; the flow's support is slightly wider
        completed = np.clip(completed, 0, np.nextafter(np.float32(model.levels), 0))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.out.endswith(".npy"):
        np.save(args.out, completed)
    else:
        rows = ([completed[:, k] for k in range(completed.shape[1])]
                if args.method == "sample" else [completed])
        save_image(args.out, completion_picture(x, observed, rows, model.levels))
    flat = completed.reshape(-1, *model.event_shape)
    log_p = float(np.mean(model.log_prob(flat)))
    print(f"completed {len(x)} examples ({int((~observed).sum())} hidden entries) with "
          f"{args.method} in {seconds:.1f} s; mean log p {log_p:.2f} nats; wrote "
          f"{os.path.abspath(args.out)}")
    return completed
