"""Command-line flags shared by the subcommands, and their mapping onto config keys."""
import argparse
import re

from tfnvp_training.config import LARGE_IMAGE_SET, SMALL_SET_DROPOUT, absolute_data_dir
from tfnvp_training.errors import UsageError
from tfnvp_training.precision import DTYPE_CHOICES

__all__ = ["DATA_OPTIONS", "PARAMETER_FLAGS", "add_architecture_arguments", "add_data_arguments",
           "data_options", "in_flag_terms", "model_overrides"]

# tfnvp.masks.VECTOR_MASKS, spelled out: importing tfnvp loads TensorFlow (slow --help);
# tests/test_masks_vector.py checks the two agree
VECTOR_MASKS = ("halves", "alternating", "random")

# flag -> RealNVP keyword argument
ARCHITECTURE_FLAGS = {
    "scales": "num_scales",
    "res_blocks": "num_res_blocks",
    "filters": "num_filters",
    "widen": "widen_after_squeeze",
    "dropout": "dropout",
    "checkerboard_couplings": "checkerboard_couplings",
    "channel_couplings": "channel_couplings",
    "final_couplings": "final_couplings",
    "coupling_layers": "num_couplings",
    "hidden_units": "hidden_units",
    "hidden_layers": "hidden_layers",
    "mask": "mask",
    "permute": "permute",
    "dtype": "dtype",
}


# library parameter -> the flag that sets it; the library's messages name parameters in backticks
PARAMETER_FLAGS = {
    "levels": "--levels",
    "image_size": "--image-size",
    "validation_fraction": "--validation-fraction",
    "data_dir": "--data-dir",
    "batch_size": "--batch-size",
    "lr_schedule": "--lr-schedule",
    "distribute": "--distribute",
    "seed": "--seed",
    "horizontal_flip": "--flip",
    **{parameter: "--" + flag.replace("_", "-") for flag, parameter in ARCHITECTURE_FLAGS.items()},
}


def in_flag_terms(message):
    """A library message with its `parameter` names shown as this command's flags."""
    return re.sub(r"`([A-Za-z_][A-Za-z0-9_]*)`",
                  lambda match: PARAMETER_FLAGS.get(match.group(1), match.group(1)), message)


def add_data_arguments(parser, required=False):
    parser.add_argument("--data", required=required, metavar="NAME_OR_PATH",
                        help="dataset name (digits, moons, circles, checkerboard, 8gaussians, "
                             "spirals, the MAF tabular sets power, gas, hepmass, miniboone and "
                             "bsds300 (from --data-dir), mnist, cifar10, celeb_a, "
                             "downsampled_imagenet/32x32, "
                             "downsampled_imagenet/64x64, lsun/<category>, or any other "
                             "TensorFlow Datasets image set) or a .npy/.npz/.csv file or image "
                             "folder")
    parser.add_argument("--data-dir", metavar="DIR", help="where TensorFlow Datasets keeps its "
                        "prepared sets (default: $TFDS_DATA_DIR, else ~/tensorflow_datasets); "
                        "for power, gas, hepmass, miniboone and bsds300 the folder of the MAF "
                        "files (power/data.npy, ...)")
    parser.add_argument("--levels", type=int, help="discrete values per entry of integer "
                        "images (default 256; digits: 17; a TFDS set: from its image feature)")
    parser.add_argument("--image-size", type=int, metavar="SIDE", help="resize the images of "
                        "a folder or a TFDS set to SIDE x SIDE")
    parser.add_argument("--validation-fraction", type=float, metavar="FRACTION",
                        help="share of the training data held out for validation when the "
                             "source has no validation split (default 0.1)")
    parser.add_argument("--batch-size", type=positive_int,
                        help="the global batch (default: the config's, else 64 as in the paper, "
                             "or 256 for vector data of at least 5,120 training rows)")
    parser.add_argument("--seed", type=int,
                        help="random seed: splits, shuffling, noise (default 0)")


# `tfnvp.data.load` keyword arguments that flags set, and those that define the data stream
DATA_OPTIONS = ("levels", "data_dir", "image_size", "validation_fraction")
STREAM_OPTIONS = ("levels", "image_size", "validation_fraction")


def data_options(args, config):
    """The `tfnvp.data.load` keyword arguments of a run: each data flag given, else the config's
    value. `config` records them, so the run's config.json holds what training used; a resumed
    run (`args.resume`) keeps the values that define its data stream."""
    for key in DATA_OPTIONS:
        flag = getattr(args, key, None)
        if key == "data_dir":
            flag = absolute_data_dir(flag)
        if flag is None:
            continue
        if getattr(args, "resume", False) and key in STREAM_OPTIONS and flag != config.get(key):
            raise UsageError(f"a resumed run keeps its {key} ({config.get(key)!r}), got "
                             f"{flag!r}; drop the flag or train into a new --out.")
        config[key] = flag
    return {key: config.get(key) for key in DATA_OPTIONS}


def add_architecture_arguments(parser):
    group = parser.add_argument_group("architecture (override the config's 'model')")
    group.add_argument("--scales", type=int, help="image: number of scales")
    group.add_argument("--res-blocks", type=int, help="image: residual blocks per s/t net")
    group.add_argument("--filters", type=int, help="image: feature maps at the first scale")
    group.add_argument("--widen", action=argparse.BooleanOptionalAction, default=None,
                       help="image: the channel couplings after each squeeze get twice their "
                            "scale's feature maps (the paper's code; tfnvp train's default for "
                            f"sets of at least {LARGE_IMAGE_SET:,} training images)")
    group.add_argument("--dropout", type=float, metavar="RATE",
                       help="image: dropout rate inside each residual block in training "
                            f"(tfnvp train's default: {SMALL_SET_DROPOUT:g} for sets of fewer "
                            f"than {LARGE_IMAGE_SET:,} training images, else 0)")
    group.add_argument("--checkerboard-couplings", type=int, help="image: per scale")
    group.add_argument("--channel-couplings", type=int, help="image: per scale")
    group.add_argument("--final-couplings", type=int, help="image: at the last scale")
    group.add_argument("--coupling-layers", type=int, help="vectors: number of couplings")
    group.add_argument("--hidden-units", type=int, help="vectors: MLP width (default 256)")
    group.add_argument("--hidden-layers", type=int, help="vectors: MLP depth")
    group.add_argument("--mask", choices=VECTOR_MASKS, help="vectors: coupling masks, even/odd "
                       "features, first/second halves or random halves (default alternating)")
    group.add_argument("--permute", action=argparse.BooleanOptionalAction, default=None,
                       help="vectors: a fixed random permutation between couplings (beyond the "
                            "paper; default off)")
    group.add_argument("--dtype", choices=DTYPE_CHOICES,
                       help="precision: float32 (default), mixed_bfloat16 / mixed_float16 "
                            "(conditioners in 16 bits, the flow's arithmetic in float32), "
                            "float64, or auto (the fastest exact one for this machine; says "
                            "which it picked)")


def model_overrides(args):
    return {key: getattr(args, flag) for flag, key in ARCHITECTURE_FLAGS.items()}


def at_least(minimum):
    """An argparse type: an integer >= `minimum`."""
    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text}")
        return value
    parse.__name__ = f"integer >= {minimum}"  # what argparse names in its messages
    return parse


nonnegative_int, positive_int = at_least(0), at_least(1)


def add_run_arguments(parser, what="read"):
    """`--model RUN_DIR` and `--checkpoint {best,latest}`: the trained run a command starts from."""
    parser.add_argument("--model", required=True, metavar="RUN_DIR",
                        help="run folder written by 'tfnvp train --out'")
    parser.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                        help=f"which checkpoint of the run to {what} (best falls back to latest)")


def check_suffix(path, suffixes, flag="--out"):
    """`path` if it ends in one of `suffixes` (".png", ...), else a one-line UsageError."""
    if not path.endswith(tuple(suffixes)):
        raise UsageError(f"{flag} must end in {' or '.join(suffixes)}, got {path!r}.")
    return path
