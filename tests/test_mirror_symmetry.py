"""`tfnvp.data.mirror_symmetry.mirror_accuracy`: near 1/2 for mirror-symmetric image sets, near 1
for sets a mirror image does not belong to; None when there are too few images to tell."""
import numpy as np
import pytest
from sklearn.datasets import load_digits

from tfnvp.data.mirror_symmetry import MIN_IMAGES, looks_mirror_symmetric, mirror_accuracy

rng = np.random.default_rng(0)


def test_noise_and_a_set_with_its_mirror_images_are_symmetric():
    noise = rng.integers(0, 256, (400, 12, 12, 3))
    digits = load_digits().images
    for images in (noise, np.concatenate([digits, digits[:, :, ::-1]])):
        symmetric, accuracy = looks_mirror_symmetric(images)
        assert symmetric and abs(accuracy - 0.5) < 0.05


def test_digits_and_left_to_right_ramps_are_not():
    symmetric, accuracy = looks_mirror_symmetric(load_digits().images)
    assert not symmetric and accuracy > 0.7  # slant and the shapes of 2, 3, 4, 5, 7
    ramps = np.arange(8.0) + rng.normal(0, 2, (100, 8, 8))  # darker to the left
    assert mirror_accuracy(ramps) > 0.95


def test_images_larger_than_the_pooled_side_and_a_brighter_left_edge():
    x = rng.normal(0, 1, (300, 33, 50))  # pooled by 3 x 4 after the difference
    assert abs(mirror_accuracy(x) - 0.5) < 0.08
    x[:, :, :5] += 1.0  # brighter on the left
    assert mirror_accuracy(x) > 0.9


def test_degenerate_sets():
    assert mirror_accuracy(np.ones((MIN_IMAGES, 4, 4))) == 0.5  # each its own mirror image
    same = np.zeros((MIN_IMAGES, 4, 4))
    same[:, :, 0] = 1
    assert mirror_accuracy(same) == 1.0  # the same asymmetric image throughout
    assert mirror_accuracy(rng.normal(size=(MIN_IMAGES - 1, 4, 4))) is None  # too few
    assert looks_mirror_symmetric(rng.normal(size=(MIN_IMAGES - 1, 4, 4))) == (False, None)
    with pytest.raises(ValueError, match=r"images must be \[N, H, W\] or \[N, H, W, C\], got"):
        mirror_accuracy(rng.normal(size=(50, 16)))
