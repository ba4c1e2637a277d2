"""`tfnvp.data.load` takes what it is given or refuses it: nothing accepted and then replaced or
ignored silently (levels, image_size, an .npz's named splits, validation_fraction)."""
import re

import numpy as np
import pytest
from PIL import Image

from tfnvp import data

LEVELS_RULE = "`levels` must be an integer >= 2"


def _array(dataset):
    return np.stack(list(dataset.as_numpy_iterator()))


@pytest.fixture
def images_npy(tmp_path):
    path = tmp_path / "images.npy"
    np.save(path, np.random.default_rng(0).integers(0, 4, (30, 4, 4)))
    return str(path)


@pytest.fixture
def vectors_npy(tmp_path):
    path = tmp_path / "vectors.npy"
    np.save(path, np.random.default_rng(0).normal(size=(30, 3)))
    return str(path)


@pytest.mark.parametrize("levels", [0, 1, -3, 2.5, True])
def test_levels_below_two_are_refused_by_the_levels_rule(levels, images_npy):
    for source in ("digits", images_npy):  # not 256 for 0, not a pixel-range message for 1
        with pytest.raises(ValueError, match=f"{LEVELS_RULE} .*got {levels!r}"):
            data.load(source, levels=levels)


def test_levels_are_checked_against_the_pixels_of_digits():
    with pytest.raises(ValueError, match=re.escape("digits: pixel values in [0.0, 16.0] outside "
                                                   "[0, 10)")):
        data.load("digits", levels=10)
    assert data.load("digits", levels=32).levels == 32


@pytest.mark.parametrize("source, shape", [("moons", "(2,)"), ("vectors", "(3,)")])
def test_levels_on_continuous_vectors_are_refused(source, shape, vectors_npy):
    source = vectors_npy if source == "vectors" else source
    with pytest.raises(ValueError, match=re.escape(f"`levels` applies to integer images; this "
                                                   f"data ({source}) is continuous vectors of "
                                                   f"shape {shape}: drop `levels`")):
        data.load(source, levels=256)
    assert data.load(source).levels is None


def test_an_npz_with_named_splits_keeps_them(tmp_path):
    rng = np.random.default_rng(0)
    train, test = rng.integers(0, 16, (40, 4, 4)), rng.integers(0, 16, (7, 4, 4))
    np.savez(tmp_path / "split.npz", train=train, test=test)
    bundle = data.load(str(tmp_path / "split.npz"), levels=16, validation_fraction=0.25)
    np.testing.assert_array_equal(_array(bundle.test)[..., 0], test)  # not a cut of the rest
    assert (bundle.num_train, bundle.num_validation, bundle.num_test) == (30, 10, 7)
    rows = sorted(map(bytes, np.concatenate([_array(bundle.train), _array(bundle.validation)])
                      .astype(np.uint8)))
    assert rows == sorted(map(bytes, train[..., None].astype(np.uint8)))

    validation = rng.integers(0, 16, (5, 4, 4))
    np.savez(tmp_path / "three.npz", train=train, validation=validation, test=test)
    bundle = data.load(str(tmp_path / "three.npz"), levels=16)
    np.testing.assert_array_equal(_array(bundle.validation)[..., 0], validation)
    np.testing.assert_array_equal(_array(bundle.train)[..., 0], train)


def test_an_npz_with_train_only_has_no_test_split(tmp_path):
    np.savez(tmp_path / "train.npz", train=np.random.default_rng(0).normal(size=(20, 2)))
    bundle = data.load(str(tmp_path / "train.npz"))
    assert bundle.test is None and (bundle.num_train, bundle.num_validation) == (18, 2)


def test_a_single_unnamed_array_keeps_the_random_split(tmp_path):
    np.savez(tmp_path / "one.npz", np.random.default_rng(0).normal(size=(100, 2)))
    bundle = data.load(str(tmp_path / "one.npz"))
    assert (bundle.num_train, bundle.num_validation, bundle.num_test) == (81, 9, 10)


@pytest.mark.parametrize("arrays, message", [
    (dict(test=np.zeros((5, 2)), x=np.zeros((5, 2))), "has 'test' arrays but no 'train'"),
    (dict(x_train=np.zeros((5, 2)), x_test=np.zeros((5, 2))),
     "holds 'x_train', 'x_test'; expected one array"),
    (dict(train=np.zeros((5, 4, 4)), test=np.zeros((5, 5, 5))),
     r"different shapes \('train' \(4, 4, 1\), 'test' \(5, 5, 1\)\)"),
    (dict(train=np.zeros((5, 4, 4)), test=np.full((5, 4, 4), 300)),
     r"\['test'\]: pixel values in \[300.0, 300.0\] outside \[0, 256\)"),
    (dict(train=np.zeros((5, 2)), validation=np.zeros((0, 2))),
     r"\['validation'\]: empty dataset"),
])
def test_npz_files_that_say_nothing_clear_are_refused(arrays, message, tmp_path):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        data.load(str(tmp_path / "bad.npz"))


def _write_images(folder, sizes):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, side in enumerate(sizes):
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:02d}.png")
    return str(folder)


def test_image_size_resizes_a_folder_of_mixed_sizes(tmp_path):
    folder = _write_images(tmp_path / "mixed", [6, 10] * 10)
    with pytest.raises(ValueError, match="images have different sizes .*pass `image_size`"):
        data.load(folder)
    bundle = data.load(folder, image_size=4)
    assert bundle.event_shape == (4, 4, 3) and bundle.levels == 256


@pytest.mark.parametrize("source", ["digits", "moons", "images"])
def test_image_size_where_nothing_is_resized_is_refused(source, images_npy):
    source = images_npy if source == "images" else source
    with pytest.raises(ValueError, match=f"`image_size` resizes the images of a folder or a "
                                         f"TFDS set; {source} is neither"):
        data.load(source, image_size=8)


@pytest.mark.parametrize("image_size", [0, -4, 2.5, True])
def test_image_size_must_be_a_positive_integer(image_size, tmp_path):
    folder = _write_images(tmp_path / "square", [4] * 4)
    with pytest.raises(ValueError, match=f"`image_size` must be an integer >= 1 .*got "
                                         f"{image_size!r}"):
        data.load(folder, image_size=image_size)


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1])
def test_validation_fraction_must_lie_in_zero_one(fraction):
    with pytest.raises(ValueError, match=rf"`validation_fraction` must lie in \(0, 1\), got "
                                         rf"{fraction!r}"):
        data.load("moons", validation_fraction=fraction)


def test_local_path_is_absolute_for_files_and_none_for_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("moons", "digits", "cifar10", "x.npy"):
        (tmp_path / name).write_text("")
    assert data.local_path("x.npy") == str(tmp_path / "x.npy")
    assert [data.local_path(n) for n in ("moons", "digits", "cifar10", "missing.npy")] == [None] * 4
