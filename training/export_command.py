"""`tfnvp export`: a trained run -> a SavedModel for TensorFlow Serving (`EXPORT_DIR/<version>/`).

    tfnvp export --model RUN_DIR --out EXPORT_DIR [--version N] [--checkpoint best|latest]

Registered in `tfnvp_training.cli.COMMANDS` (`HELP`, `add_arguments`, `run`). The signatures
are described in `tfnvp.export`.
"""
from tfnvp_training import options
from tfnvp_training.errors import UsageError
from tfnvp_training.run_folder import RunFolder

__all__ = ["HELP", "add_arguments", "run"]

HELP = "write a run's trained flow as a SavedModel for TensorFlow Serving (EXPORT_DIR/<version>/)"


def add_arguments(parser):
    options.add_run_arguments(parser, what="export")
    parser.add_argument("--out", required=True, metavar="EXPORT_DIR",
                        help="model base folder served by TensorFlow Serving; the export goes "
                             "to EXPORT_DIR/<version>/")
    parser.add_argument("--version", type=int, default=None,
                        help="version folder name, an integer >= 1 (default: one more than the "
                             "largest version already in EXPORT_DIR, or 1)")


def run(args):
    """Rebuilds the run's model from its config.json, restores the checkpoint, exports it."""
    import os

    if args.version is not None and args.version < 1:
        raise UsageError(f"--version must be an integer >= 1, got {args.version}.")
    run_folder = RunFolder(args.model)
    model, kind = run_folder.load_trained_model(args.checkpoint)
    try:
        path = model.export(args.out, version=args.version)
    except FileExistsError as e:
        raise UsageError(str(e)) from None
    signatures = "log_prob (serving_default), encode, decode, sample"
    if model.is_image and model.num_scales > 1:
        signatures += ", decode_scales"
    print(f"exported the '{kind}' checkpoint of {run_folder.path} to {os.path.abspath(path)} "
          f"(signatures: {signatures})")
    return path
