"""Experiment configs: JSON files in `training/configs/` (package data) or a user's JSON file.

A config is a flat dict of the keys in `DEFAULTS`; `"model"` holds `tfnvp.RealNVP` keyword
arguments (only the ones the config wants to fix; the rest keep the model's defaults).
Resolution order: `DEFAULTS` <- config file <- command-line flags.
"""
import importlib.resources
import json
import os

from tfnvp_training.errors import UsageError

__all__ = ["DEFAULTS", "LARGE_TABLE_ROWS", "LR_SCHEDULES", "MODEL_KEYS", "absolute_data_dir",
           "IMAGE_LR", "LARGE_IMAGE_SET", "SMALL_SET_DROPOUT", "VECTOR_LR", "available_configs",
           "default_batch_size", "default_dropout", "default_learning_rate",
           "default_widen_after_squeeze", "load_config", "resolve_config"]

LR_SCHEDULES = ("plateau", "cosine", "constant")  # see tfnvp_training.learning_rate

DEFAULTS = {
    "notes": "",
    "data": None,               # dataset name or path (tfnvp.data.KNOWN_DATASETS); paths absolute
    "data_dir": None,           # TensorFlow Datasets' data dir (None: TFDS_DATA_DIR or its default)
    "levels": None,             # discrete values per entry for the user's integer arrays
    "image_size": None,         # resize images to image_size x image_size (None: keep)
    "horizontal_flip": None,    # random left-right flips of training images (None: the data's
                                # default: the TFDS photo sets, and image files that look
                                # mirror-symmetric, tfnvp.data.mirror_symmetry)
    "validation_fraction": 0.1,
    "epochs": 1000,             # a cap: early stopping (`patience`) ends a run long before
    "batch_size": None,         # None: `default_batch_size` once the data is known
    "lr": None,                 # Adam (paper: Adam); None: `default_learning_rate` once the
                                # data is known
    "lr_schedule": "plateau",   # LR_SCHEDULES; "cosine" decays to 0 over `epochs`
    "lr_patience": 3,           # plateau: halve the rate after this many epochs w/o improvement
    "clip_norm": None,          # global gradient-norm clipping (None: off)
    "seed": 0,
    "patience": 10,             # early stopping on validation loss (None or 0: off)
    "jit_compile": False,
    "steps_per_execution": 8,   # batches per compiled call, at most (tfnvp_training.trainer)
    "max_nonfinite_retries": 3,  # NaN/Inf loss: restore last good weights, halve lr, retry
    "eval_draws": 4,            # dequantisation draws averaged for the reported test figure
    "sample_temperature": 1.0,  # for samples.png and the TensorBoard grid
    "model": {},
}

MODEL_KEYS = ("num_scales", "checkerboard_couplings", "channel_couplings", "final_couplings",
              "num_res_blocks", "num_filters", "widen_after_squeeze", "num_couplings",
              "hidden_units", "hidden_layers", "mask", "permute", "mask_seed", "flow_batch_norm",
              "batch_norm_momentum", "net_batch_norm_momentum", "dropout", "alpha", "l2", "dtype")


# Vector data with at least this many training rows (20 batches of 256) trains with batch 256.
# Measured (README, "Vector flows and tabular data"): on 63-D photo patches (8,000 rows) batch
# 256 gave -164.9 nats against -163.7 with 64, 2.5x faster per example; tables of a few hundred
# rows did as well or better with 64, and a batch of 256 cannot train fewer than 256 rows.
LARGE_TABLE_ROWS = 20 * 256


def default_batch_size(is_image, num_train):
    """The batch when the config leaves it open: 64 for images (the paper) and small tables,
    256 for vector data with at least `LARGE_TABLE_ROWS` training rows."""
    if not is_image and num_train is not None and num_train >= LARGE_TABLE_ROWS:
        return 256
    return 64


# Image sets with at least this many training images get the paper code's doubled s/t width
# after each squeeze (`widen_after_squeeze`, --widen). Measured (README, "Image flows on real
# photographs"; same epochs): on 8,000 8x8 photo patches it gained 0.016 bits/dim (0.011 to 0.027
# on each of 3 seeds); on the 1,293 training digits it lost 0.020 (40% more parameters overfit
# them sooner).
# The threshold lies between the two sets measured.
LARGE_IMAGE_SET = 4000


def default_widen_after_squeeze(num_train):
    """Whether an image flow widens after each squeeze when the config leaves it open: for sets
    of at least `LARGE_IMAGE_SET` training images (an unknown count: no)."""
    return num_train is not None and num_train >= LARGE_IMAGE_SET


# Image sets with fewer than `LARGE_IMAGE_SET` training images train their s/t ResNets with
# dropout `SMALL_SET_DROPOUT` (`dropout`, --dropout). Measured (README, "Image flows on real
# photographs"; 40 epochs, 3 seeds): on the 1,293 training digits, whose validation NLL bottomed
# near epoch 20 without it, 0.2 gave 1.978 test bits/dim against 2.031 (-0.048 to -0.057 on each
# seed, spread 0.010), best epochs 34-40. On 8,000 flipped photo patches (30 epochs, 2 seeds) it
# gained nothing (4.162 against 4.162), so larger sets get none; the threshold is --widen's.
SMALL_SET_DROPOUT = 0.2


def default_dropout(num_train):
    """The s/t ResNets' dropout rate when the config leaves it open: `SMALL_SET_DROPOUT` for sets
    of fewer than `LARGE_IMAGE_SET` training images, else 0 (an unknown count: 0)."""
    return SMALL_SET_DROPOUT if num_train is not None and num_train < LARGE_IMAGE_SET else 0.0


# Adam's rate when the config leaves it open: 2e-3 for image flows, 1e-3 (Adam's default) for
# vectors. Measured (README, "Image flows on real photographs"; same epochs, 3 seeds each): 2e-3
# gained on every seed: 0.028 bits/dim on 8,000 8x8 photo patches (4.157 against 4.185) and 0.024
# on the 1,293 training digits (2.031 against 2.055), both more than the seed-to-seed spread
# (0.010-0.011). Vector flows were not measured at 2e-3 and keep 1e-3.
IMAGE_LR, VECTOR_LR = 2e-3, 1e-3


def default_learning_rate(is_image):
    """Adam's rate when the config leaves it open: `IMAGE_LR` for images, `VECTOR_LR` else."""
    return IMAGE_LR if is_image else VECTOR_LR


def available_configs():
    """Names of the packaged configs (`training/configs/<name>.json`)."""
    folder = importlib.resources.files("tfnvp_training") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_config(name_or_path):
    """The config dict from a packaged name (`"digits"`) or a JSON file path, checked."""
    if name_or_path.endswith(".json") or os.sep in name_or_path:
        if not os.path.isfile(name_or_path):
            raise UsageError(f"config file {name_or_path!r} does not exist.")
        with open(name_or_path) as f:
            text, where = f.read(), name_or_path
    else:
        resource = importlib.resources.files("tfnvp_training") / "configs" / f"{name_or_path}.json"
        if not resource.is_file():
            raise UsageError(f"unknown config {name_or_path!r}; expected a JSON file path or one "
                             f"of: {', '.join(available_configs())}.")
        text, where = resource.read_text(), f"config {name_or_path!r}"
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{where} is not valid JSON: {e}.") from None
    check_keys(config, where)
    return config


def check_keys(config, where="config"):
    if not isinstance(config, dict):
        raise UsageError(f"{where} must be a JSON object, got {type(config).__name__}.")
    unknown = sorted(set(config) - set(DEFAULTS) - {"resolved", "model_config"})
    if unknown:
        raise UsageError(f"unknown config key {unknown[0]!r} in {where}; expected one of: "
                         f"{', '.join(DEFAULTS)}.")
    model = config.get("model", {})
    if not isinstance(model, dict):
        raise UsageError(f"'model' in {where} must be an object of RealNVP arguments.")
    unknown = sorted(set(model) - set(MODEL_KEYS))
    if unknown:
        raise UsageError(f"unknown config key 'model.{unknown[0]}' in {where}; expected one "
                         f"of: {', '.join(MODEL_KEYS)}.")


def resolve_config(config=None, overrides=None, model_overrides=None):
    """`DEFAULTS` updated by `config` then by the non-None `overrides` (flags)."""
    resolved = {**DEFAULTS, **(config or {})}
    resolved["model"] = dict(resolved.get("model") or {})
    resolved.update({k: v for k, v in (overrides or {}).items() if v is not None})
    resolved["model"].update({k: v for k, v in (model_overrides or {}).items() if v is not None})
    check_keys(resolved)
    if resolved["lr_schedule"] not in LR_SCHEDULES:
        raise UsageError(f"`lr_schedule` must be one of {', '.join(LR_SCHEDULES)}, got "
                         f"{resolved['lr_schedule']!r}.")
    limit = resolved["steps_per_execution"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UsageError(f"`steps_per_execution` must be an integer >= 1, got {limit!r}.")
    if not resolved["data"]:
        raise UsageError("no dataset: pass --data NAME_OR_PATH or a --config that sets 'data'.")
    from tfnvp.data import local_path  # imports TensorFlow: not at the top (fast --help)

    # the run folder must not depend on the directory it was started from
    resolved["data"] = local_path(resolved["data"]) or resolved["data"]
    resolved["data_dir"] = absolute_data_dir(resolved["data_dir"])
    return resolved


def absolute_data_dir(data_dir):
    """`data_dir` as an absolute path (a remote one such as gs://... as it is; None stays)."""
    if data_dir is None or "://" in data_dir:
        return data_dir
    return os.path.abspath(os.path.expanduser(data_dir))
