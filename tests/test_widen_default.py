"""`tfnvp train` widens the s/t nets after each squeeze (`widen_after_squeeze`, --widen) by
default for image sets of at least `LARGE_IMAGE_SET` training images and keeps their width for
smaller ones; it says which and why, --widen/--no-widen decide, config.json records what was
built. Image flows without a squeeze (one scale) and vector flows are left alone."""
import numpy as np
import pytest

from helpers import image_file, train_run
from tfnvp_training.config import LARGE_IMAGE_SET, default_widen_after_squeeze

TWO_SCALES = ["--scales", "2", "--checkerboard-couplings", "1", "--channel-couplings", "1",
              "--final-couplings", "1", "--res-blocks", "1", "--filters", "4"]


def test_default_widens_large_image_sets_only():
    assert default_widen_after_squeeze(LARGE_IMAGE_SET)
    assert default_widen_after_squeeze(10 * LARGE_IMAGE_SET)
    assert not default_widen_after_squeeze(LARGE_IMAGE_SET - 1)
    assert not default_widen_after_squeeze(None)  # an unknown count keeps the narrower nets


def train_config(tmp_path, capsys, num_images, *flags, architecture=TWO_SCALES):
    data = image_file(tmp_path / "images.npy", num_images)
    return train_run(tmp_path, capsys, data, "--levels", "256", "--batch-size", "64",
                     *architecture, *flags)


LARGE = int(1.4 * LARGE_IMAGE_SET)  # images in the file: about 10% go to test, 10% to validation


@pytest.mark.slow
@pytest.mark.parametrize("num_images, flag, widened", [
    (LARGE, None, True), (80, None, False), (LARGE, "--no-widen", False), (80, "--widen", True)])
def test_train_widens_by_the_number_of_training_images(tmp_path, capsys, num_images, flag,
                                                       widened):
    config, out = train_config(tmp_path, capsys, num_images, *([flag] if flag else []))
    assert config["model"]["widen_after_squeeze"] is widened
    assert config["model_config"]["widen_after_squeeze"] is widened  # what was built
    said = "s/t width after each squeeze: " + ("doubled" if widened else "kept")
    assert (said in out) == (flag is None)  # the default and its reason are said, a flag not
    if flag is None:  # with the count against the threshold
        reason = (f"training images >= {LARGE_IMAGE_SET:,}" if widened
                  else f"fewer than {LARGE_IMAGE_SET:,}")
        assert reason in out


@pytest.mark.slow
def test_a_flow_without_a_squeeze_is_not_widened_nor_told(tmp_path, capsys):
    one_scale = ["--scales", "1", "--final-couplings", "2", "--res-blocks", "1", "--filters", "4"]
    config, out = train_config(tmp_path, capsys, LARGE, architecture=one_scale)
    assert "widen_after_squeeze" not in config["model"] and "s/t width" not in out
    assert config["model_config"]["widen_after_squeeze"] is False


@pytest.mark.slow
def test_vector_data_is_not_widened_nor_told(tmp_path, capsys):
    data = tmp_path / "table.npy"
    np.save(data, np.random.default_rng(0).normal(size=(LARGE, 3)).astype(np.float32))
    config, out = train_run(tmp_path, capsys, data, "--coupling-layers", "2",
                            "--hidden-units", "8")
    assert "widen_after_squeeze" not in config["model"] and "s/t width" not in out
