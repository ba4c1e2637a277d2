"""Examples read from a file for the commands that use a trained model (`interpolate`,
`complete`, `score`, `sample --resample-from`).

    FILE.npy             an array `[N, *event]`
    FILE.npz             the array named `x` or `data`, else the first one
    FILE.csv             one example a row (an optional header row is skipped)

Rows are examples: `[N, *event]`; images may leave out a channel axis of size 1 or come
flattened, `[N, H*W*C]`. Entries of a discrete model must lie in `[0, levels)`: integers are
pixels (the commands take them at pixel centres, `x + 0.5`, or dequantise them), floats are
taken as already dequantised.
"""
import os

import numpy as np

from tfnvp_training.errors import UsageError

__all__ = ["Examples", "read_examples"]


class Examples:
    """`values` float64 `[N, *event]` as read; `integer`: every entry is a whole number (and the
    model is discrete), so the entries are pixels rather than dequantised values."""

    def __init__(self, values, integer):
        self.values = values
        self.integer = integer

    def __len__(self):
        return len(self.values)

    def at_pixel_centres(self):
        """Pixels `v` -> `v + 0.5`, the centre of their bin `[v, v + 1)`; floats as given."""
        return self.values + 0.5 if self.integer else self.values


def read_examples(path, model, flag="--data"):
    """`Examples` of `path` after checking they fit `model` (shape, finite, range)."""
    from tfnvp.data.validation import check_finite

    if not os.path.isfile(path):
        raise UsageError(f"{flag} {path!r} does not exist (expected a .npy, .npz or .csv file).")
    x = _read_array(path, flag)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise UsageError(f"{flag} {path}: expected numbers, got an array of dtype {x.dtype}.")
    x = _as_examples(x.astype(np.float64), model, path, flag)
    check_finite(x, path)
    integer = model.levels is not None and bool(np.all(x == np.round(x)))
    if model.levels is not None:
        low, high = x.min(), x.max()
        if low < 0 or high >= model.levels:
            raise UsageError(f"{flag} {path}: values in [{low:g}, {high:g}] outside [0, "
                             f"{model.levels}), the range of the model's data (levels "
                             f"{model.levels}).")
    return Examples(x, integer)


def _read_array(path, flag):
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            return np.load(path, allow_pickle=False)
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                if not arrays.files:
                    raise UsageError(f"{flag} {path}: the .npz file holds no arrays.")
                key = next((k for k in ("x", "data") if k in arrays.files), arrays.files[0])
                return arrays[key]
        if ext == ".csv":
            with open(path) as f:
                first = f.readline().strip().split(",")
            header = not all(_is_number(v) for v in first)
            return np.loadtxt(path, delimiter=",", skiprows=int(header), ndmin=2)
    except (OSError, ValueError) as e:
        raise UsageError(f"{flag} {path} is unreadable: {str(e).splitlines()[0]}") from None
    raise UsageError(f"{flag} {path}: unsupported file type {ext!r}; expected .npy, .npz or "
                     f".csv.")


def _as_examples(x, model, path, flag):
    event = tuple(model.event_shape)
    if x.ndim >= 1 and x.shape[1:] == event:
        pass
    elif model.is_image and event[-1] == 1 and x.shape[1:] == event[:-1]:
        x = x[..., None]
    elif x.ndim == 2 and x.shape[1] == int(np.prod(event)):
        x = x.reshape(len(x), *event)
    else:
        raise UsageError(f"{flag} {path} has shape {x.shape}; the model expects rows of shape "
                         f"{event} (an array [N, {', '.join(map(str, event))}]).")
    if len(x) == 0:
        raise UsageError(f"{flag} {path} holds no examples (shape {x.shape}).")
    return x


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
