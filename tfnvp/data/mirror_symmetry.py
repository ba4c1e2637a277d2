"""`mirror_accuracy`: can a linear classifier tell images from their mirror images? The test that
decides whether the user's image files are flipped left-right in training by default.

Random flips are the paper's augmentation for its photo sets, and on held-out 8x8 photo patches
they were worth 0.08 bits/dim (README, "Image flows on real photographs"); on the digits they
cost 0.018, because a mirrored digit is not a digit. A set whose distribution is mirror-symmetric
(p(x) = p(flip x)) cannot be told from its mirror image by any classifier, so held-out accuracy
near 1/2 says flipping adds plausible data; well above 1/2 says it adds implausible data.
Measured: photo patches 0.49, digits 0.82.

The classifier is Fisher's discriminant on pairs: with d = x - flip(x) (grey, then pooled to at
most 16x16), w = (Cov[d] + r I)^-1 E[d] fitted on half of the images, and accuracy = P(w . d > 0) on
the other half (the original is the one of the pair with the larger score).
"""
import math

import numpy as np

__all__ = ["MIN_IMAGES", "SYMMETRIC_BELOW", "looks_mirror_symmetric", "mirror_accuracy"]

MIN_IMAGES = 40          # fewer: too few to tell, and the default stays off
SYMMETRIC_BELOW = 0.55   # held-out accuracy below this: mirror-symmetric (chance is 0.5)


def mirror_accuracy(images, max_images=4000, max_side=16, ridge=1e-2, seed=0):
    """Held-out accuracy in [0, 1] of a linear classifier telling `images` `[N, H, W(, C)]` from
    their left-right mirror images (0.5: it cannot); None for fewer than `MIN_IMAGES`."""
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"images must be [N, H, W] or [N, H, W, C], got shape {x.shape}")
    if len(x) < MIN_IMAGES:
        return None
    # a sample first: a large set is never copied whole
    x = x[np.random.default_rng(seed).permutation(len(x))[:max_images]].astype(np.float64)
    if x.ndim == 4:
        x = x.mean(axis=-1)  # grey: the test is about the layout, not the colours
    # pooled after the difference: for a symmetric set d ~ -d, and so is any linear map of d
    d = _pool(x - x[:, :, ::-1], max_side).reshape(len(x), -1)
    fit, held = d[: len(d) // 2], d[len(d) // 2:]
    covariance = np.atleast_2d(np.cov(fit, rowvar=False))
    scale = np.trace(covariance) / len(covariance)
    if scale == 0.0:  # one difference for all: none (symmetric images) or always the same one
        return 0.5 if not fit.any() else 1.0
    w = np.linalg.solve(covariance + ridge * scale * np.eye(len(covariance)), fit.mean(axis=0))
    scores = held @ w
    return float(np.mean(scores > 0) + 0.5 * np.mean(scores == 0))


def looks_mirror_symmetric(images):
    """`(symmetric, accuracy)`: whether `images` look mirror-symmetric (`mirror_accuracy` below
    `SYMMETRIC_BELOW`; False when there are too few to tell) and the accuracy (or None)."""
    accuracy = mirror_accuracy(images)
    return accuracy is not None and accuracy < SYMMETRIC_BELOW, accuracy


def _pool(x, max_side):
    """Mean-pool `[N, H, W]` by whole factors so that both sides are at most `max_side`."""
    n, h, w = x.shape
    fh, fw = math.ceil(h / max_side), math.ceil(w / max_side)
    if fh == fw == 1:
        return x
    h, w = h - h % fh, w - w % fw
    return x[:, :h, :w].reshape(n, h // fh, fh, w // fw, fw).mean(axis=(2, 4))
