"""Checks on the arrays a source yields, and the random split into train/validation/test.

Every message names what was found and what was expected; parameters appear in backticks
(`` `levels` ``) so the `tfnvp` command can show them as its flags.
"""
import numpy as np

__all__ = ["check_finite", "check_image_size", "check_images", "check_no_image_size",
           "check_no_levels", "check_validation_fraction", "check_vectors", "split"]


def check_validation_fraction(fraction):
    if isinstance(fraction, bool) or not 0 < fraction < 1:
        raise ValueError(f"`validation_fraction` must lie in (0, 1), got {fraction!r}.")
    return float(fraction)


def check_image_size(image_size):
    """`image_size` as an int after checking it is an integer >= 1 (the side of a square)."""
    if isinstance(image_size, bool) or not float(image_size).is_integer() or image_size < 1:
        raise ValueError(f"`image_size` must be an integer >= 1 (the side of the square images), "
                         f"got {image_size!r}.")
    return int(image_size)


def check_no_levels(levels, source, event_shape):
    """Continuous data takes no `levels`: refuse one instead of ignoring it."""
    if levels is not None:
        raise ValueError(f"`levels` applies to integer images; this data ({source}) is continuous "
                         f"vectors of shape {tuple(event_shape)}: drop `levels`")


def check_no_image_size(image_size, source):
    """Only image folders and TFDS sets are resized: refuse `image_size` elsewhere."""
    if image_size is not None:
        raise ValueError(f"`image_size` resizes the images of a folder or a TFDS set; {source} is "
                         f"neither: drop `image_size` (or resize the arrays yourself)")


def check_finite(x, source):
    """Refuses NaN/Inf, naming how many and where the first one is."""
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{source}: data contains NaN or Inf ({int(bad.sum())} entries, first "
                         f"{x[first]} at index {first}); expected finite numbers")


def check_vectors(x, source):
    """`x` must be `[N, D]` floats, finite."""
    if x.ndim != 2:
        raise ValueError(f"{source}: expected vectors of rank 2 [N, D] or integer images, got "
                         f"shape {x.shape}")
    check_finite(x, source)
    return x


def check_images(x, levels, source):
    """`x` `[N, H, W]` or `[N, H, W, C]` of integers in `[0, levels)` -> `[N, H, W, C]`."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{source}: expected images [N, H, W] or [N, H, W, C], got shape "
                         f"{x.shape}")
    check_finite(x, source)
    integer = np.all(x == np.round(x))
    if not integer and x.min() >= 0 and x.max() <= 1:
        raise ValueError(f"{source}: image values are floats in [0, 1] (max {x.max():.4g}); "
                         f"expected integers 0..{levels - 1}: rescale by 255 (np.round(x * 255)) "
                         f"or give integers with the right `levels`")
    if not integer:
        raise ValueError(f"{source}: image values must be integers, got non-integer values")
    low, high = x.min(), x.max()
    if low < 0 or high >= levels:
        raise ValueError(f"{source}: pixel values in [{low}, {high}] outside [0, {levels}) "
                         f"(set `levels` or rescale)")
    return x


def split(x, validation_fraction, seed, with_test):
    """Random split of `x` `[N, ...]` -> (train, validation, test or None); the test split takes
    10% when asked, validation `validation_fraction` of the rest."""
    x = x[np.random.default_rng(seed).permutation(len(x))]
    num_test = int(round(0.1 * len(x))) if with_test else 0
    test, rest = (x[:num_test], x[num_test:]) if with_test else (None, x)
    num_validation = max(1, int(round(validation_fraction * len(rest))))
    if num_validation >= len(rest):
        raise ValueError(f"a dataset of {len(x)} examples is too small to split off a "
                         f"validation set (`validation_fraction` {validation_fraction})")
    return rest[num_validation:], rest[:num_validation], test
