"""Binary coupling masks (pure functions, NumPy out).

Convention everywhere in tfnvp: ``b = 1`` marks the dimensions a coupling layer *keeps* (and its
conditioner sees), ``b = 0`` the ones it transforms:

    y = b * x + (1 - b) * (x * exp(s(b * x)) + t(b * x))
"""
import numpy as np

__all__ = ["VECTOR_MASKS", "checkerboard", "channel_halves", "vector_alternating", "vector_halves",
           "vector_masks", "vector_random", "validate_mask"]

VECTOR_MASKS = ("halves", "alternating", "random")  # the kinds `vector_masks` builds


def checkerboard(height, width, channels, parity=0):
    """Spatial checkerboard `[H, W, C]`: ``b[i, j, :] = 1`` where ``(i + j) % 2 == parity``."""
    _check_positive(height=height, width=width, channels=channels)
    _check_parity(parity)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    board = ((rows + cols) % 2 == parity).astype(np.float32)
    return np.repeat(board[:, :, None], channels, axis=2)


def channel_halves(height, width, channels, parity=0):
    """Channel-wise mask `[H, W, C]`: parity 0 keeps the first ``C // 2`` channels, 1 the rest."""
    _check_positive(height=height, width=width, channels=channels)
    _check_parity(parity)
    if channels < 2 or channels % 2:
        raise ValueError(f"channel_halves needs an even number of channels >= 2, got {channels}.")
    first = np.zeros([channels], np.float32)
    first[: channels // 2] = 1.0
    keep = first if parity == 0 else 1.0 - first
    return np.broadcast_to(keep, (height, width, channels)).copy()


def vector_halves(dim, parity=0):
    """Vector mask `[D]`: parity 0 keeps the first ``D // 2`` features, parity 1 the others."""
    _check_parity(parity)
    _check_vector_dim(dim, "vector_halves")
    first = np.zeros([dim], np.float32)
    first[: dim // 2] = 1.0
    return first if parity == 0 else 1.0 - first


def vector_alternating(dim, parity=0):
    """Vector mask `[D]`: ``b[i] = 1`` where ``i % 2 == parity`` (even / odd features)."""
    _check_parity(parity)
    _check_vector_dim(dim, "vector_alternating")
    return (np.arange(dim) % 2 == parity).astype(np.float32)


def vector_random(dim, seed, parity=0):
    """Vector mask `[D]` keeping a random ``D // 2`` features drawn with `seed`; parity 1 is its
    complement, so a pair of couplings with the same seed transforms every feature once."""
    _check_parity(parity)
    _check_vector_dim(dim, "vector_random")
    keep = np.zeros([dim], np.float32)
    keep[np.random.default_rng(seed).permutation(dim)[: dim // 2]] = 1.0
    return keep if parity == 0 else 1.0 - keep


def vector_masks(kind, dim, count, seed=0):
    """The masks of `count` vector couplings, in order: parity ``k % 2`` of `kind` for coupling
    `k` (so consecutive couplings transform complementary features). "random" draws a new half
    for every pair of couplings from `seed` (pair `j` uses the seed ``[seed, 0, j]``)."""
    if kind == "halves":
        return [vector_halves(dim, k % 2) for k in range(count)]
    if kind == "alternating":
        return [vector_alternating(dim, k % 2) for k in range(count)]
    if kind == "random":
        return [vector_random(dim, [seed, 0, k // 2], k % 2) for k in range(count)]
    raise ValueError(f"`mask` must be one of {', '.join(VECTOR_MASKS)}, got {kind!r}.")


def validate_mask(mask, event_shape):
    """``mask`` as float32 NumPy, after checking its shape and 0/1 values against the event."""
    mask = np.asarray(mask, dtype=np.float32)
    event_shape = tuple(int(d) for d in event_shape)
    if mask.shape != event_shape:
        raise ValueError(f"mask has shape {mask.shape}, expected the event shape {event_shape}.")
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError(f"mask must hold only 0 and 1, got values {np.unique(mask)[:6]}.")
    if mask.all() or not mask.any():
        raise ValueError("mask must keep some dimensions and transform others; it is all "
                         f"{int(mask.flat[0])}.")
    return mask


def _check_positive(**sizes):
    for name, value in sizes.items():
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _check_vector_dim(dim, builder):
    if int(dim) != dim or dim < 2:
        raise ValueError(f"{builder} needs dim >= 2 (one half to keep, one to transform), "
                         f"got {dim!r}.")


def _check_parity(parity):
    if parity not in (0, 1):
        raise ValueError(f"parity must be 0 or 1, got {parity!r}.")
