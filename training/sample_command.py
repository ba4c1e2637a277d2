"""`tfnvp sample`: draw from a trained run, `x = f^{-1}(z)`, `z ~ N(0, T^2 I)`."""
from tfnvp_training import options
from tfnvp_training.errors import UsageError
from tfnvp_training.run_folder import RunFolder

HELP = "draw samples from a run's best checkpoint into a .png grid or a .npy array"


def add_arguments(parser):
    parser.add_argument("--model", required=True, metavar="RUN_DIR",
                        help="run folder written by 'tfnvp train --out'")
    parser.add_argument("--num", type=options.positive_int, default=64, help="how many samples")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="prior standard deviation T (paper figures: T < 1 looks cleaner)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, metavar="FILE.png|FILE.npy")
    parser.add_argument("--checkpoint", choices=("best", "latest"), default="best")


def run(args):
    import os

    import numpy as np

    from tfnvp_training.pictures import image_grid, save_image, save_vector_figure

    if not args.out.endswith((".png", ".npy")):
        raise UsageError(f"--out must end in .png or .npy, got {args.out!r}.")
    if args.temperature <= 0:
        raise UsageError(f"--temperature must be > 0, got {args.temperature}.")
    model, _ = RunFolder(args.model).load_trained_model(args.checkpoint)
    samples = model.sample(args.num, temperature=args.temperature, seed=args.seed).numpy()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.out.endswith(".npy"):
        np.save(args.out, samples)
    elif model.is_image:
        save_image(args.out, image_grid(samples, model.levels))
    else:
        save_vector_figure(args.out, None, samples)
    print(f"wrote {args.num} samples (T={args.temperature:g}) of shape "
          f"{model.event_shape} to {os.path.abspath(args.out)}")
    return samples
