"""Masks and squeeze against hand-checked examples; constructor errors name the bad value."""
import numpy as np
import pytest
import tensorflow as tf

from tfnvp import masks
from tfnvp.bijectors import AffineCoupling, LogitPreprocessing, Squeeze


def test_checkerboard_alternates_and_parities_complement():
    even = masks.checkerboard(3, 4, 2, parity=0)
    odd = masks.checkerboard(3, 4, 2, parity=1)
    assert even.shape == (3, 4, 2)
    np.testing.assert_array_equal(even[:, :, 0], [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]])
    np.testing.assert_array_equal(even[:, :, 1], even[:, :, 0])
    np.testing.assert_array_equal(even + odd, np.ones((3, 4, 2)))


def test_channel_and_vector_halves():
    first = masks.channel_halves(2, 2, 4, parity=0)
    np.testing.assert_array_equal(first[1, 1], [1, 1, 0, 0])
    np.testing.assert_array_equal(masks.channel_halves(2, 2, 4, parity=1)[0, 0], [0, 0, 1, 1])
    np.testing.assert_array_equal(masks.vector_halves(5, 0), [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(masks.vector_halves(5, 1), [0, 0, 1, 1, 1])


def test_squeeze_moves_pixels_as_in_figure_3():
    # A 4x4 single-channel image numbered 1..16 row by row.
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4, 1)
    y = Squeeze().forward(x).numpy()
    assert y.shape == (1, 2, 2, 4)
    # Each 2x2 block becomes one pixel: channels = top-left, top-right, bottom-left, bottom-right.
    np.testing.assert_array_equal(y[0, 0, 0], [1, 2, 5, 6])
    np.testing.assert_array_equal(y[0, 0, 1], [3, 4, 7, 8])
    np.testing.assert_array_equal(y[0, 1, 0], [9, 10, 13, 14])
    np.testing.assert_array_equal(y[0, 1, 1], [11, 12, 15, 16])


def test_squeeze_keeps_each_input_channels_sub_pixels_together():
    x = np.zeros((1, 2, 2, 2), np.float32)
    x[0, :, :, 0] = [[1, 2], [3, 4]]
    x[0, :, :, 1] = [[10, 20], [30, 40]]
    y = Squeeze().forward(x).numpy()
    np.testing.assert_array_equal(y[0, 0, 0], [1, 2, 3, 4, 10, 20, 30, 40])
    np.testing.assert_array_equal(Squeeze().inverse(tf.constant(y)).numpy(), x)


def test_odd_image_size_for_squeeze_is_refused_with_the_value():
    with pytest.raises(ValueError, match=r"5"):
        Squeeze(event_shape=(5, 4, 1))
    with pytest.raises(ValueError, match=r"even height and width"):
        Squeeze().forward(tf.zeros((1, 3, 4, 1)))


@pytest.mark.parametrize("levels", [1, 0, -3, 2.5, True])
def test_levels_below_two_are_refused(levels):
    with pytest.raises(ValueError, match="levels"):
        LogitPreprocessing(levels, event_ndims=3)


def test_alpha_outside_range_is_refused():
    with pytest.raises(ValueError, match="alpha"):
        LogitPreprocessing(256, event_ndims=3, alpha=0.5)


def test_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(4, 4, 1\).*\(4, 4, 2\)"):
        AffineCoupling(masks.checkerboard(4, 4, 1), conditioner=None, event_shape=(4, 4, 2))
    with pytest.raises(ValueError, match="only 0 and 1"):
        AffineCoupling(np.full((4,), 0.5), conditioner=None)
    with pytest.raises(ValueError, match="keep some dimensions"):
        AffineCoupling(np.ones((4,)), conditioner=None)


def test_mask_builders_refuse_bad_arguments():
    with pytest.raises(ValueError, match="parity"):
        masks.checkerboard(4, 4, 1, parity=2)
    with pytest.raises(ValueError, match="even number of channels.*3"):
        masks.channel_halves(2, 2, 3)
    with pytest.raises(ValueError, match="dim >= 2.*1"):
        masks.vector_halves(1)
