"""`tfnvp train --flip/--no-flip` (config key `horizontal_flip`): random left-right flips of the
training images, on for the user's own image files when asked; the data's default otherwise;
refused for vectors; recorded in config.json and fixed for a resumed run."""
import json

import numpy as np
import pytest

import tfnvp.data
from tfnvp_training.cli import main

TINY_MODEL = ["--scales", "1", "--final-couplings", "2", "--res-blocks", "1", "--filters", "8"]


def lopsided_images(path, num=40, side=4):
    """Integer images that are bright on the left and dark on the right: a flip is visible."""
    x = np.zeros((num, side, side, 1), np.uint8)
    x[:, :, : side // 2] = 255
    np.save(path, x)
    return path


@pytest.fixture
def training_streams(monkeypatch):
    """The first training batch of every `tfnvp.data.batches` stream the trainer builds."""
    seen, batches = [], tfnvp.data.batches

    def recording(dataset, batch_size, *, training, **kwargs):
        stream = batches(dataset, batch_size, training=training, **kwargs)
        if training:
            seen.append(next(iter(stream)).numpy())
        return stream
    monkeypatch.setattr(tfnvp.data, "batches", recording)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("flag, flipped", [("--flip", True), ("--no-flip", False), (None, False)])
def test_flip_flips_the_training_images_of_a_file(tmp_path, capsys, training_streams, flag,
                                                  flipped):
    data = lopsided_images(tmp_path / "lopsided.npy")
    args = ["train", "--data", str(data), "--levels", "256", "--out", str(tmp_path / "run"),
            "--epochs", "1", "--batch-size", "16", "--eval-draws", "1", "--quiet", *TINY_MODEL]
    assert main(args + ([flag] if flag else [])) == 0, capsys.readouterr().err
    (batch,) = training_streams
    left, right = batch[:, :, :2].mean(axis=(1, 2, 3)), batch[:, :, 2:].mean(axis=(1, 2, 3))
    mirrored = right > left  # dequantised: left ~255.5, right ~0.5 unless flipped
    assert mirrored.any() == flipped and not mirrored.all()
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["horizontal_flip"] == {"--flip": True, "--no-flip": False, None: None}[flag]
    if flag == "--flip":  # the flips define the run's data stream: a resume keeps them
        capsys.readouterr()
        assert main(["train", "--out", str(tmp_path / "run"), "--resume", "--no-flip"]) == 2
        assert "a resumed run keeps its --flip (True), got False" in \
            capsys.readouterr().err


def test_flip_is_refused_for_vector_data(tmp_path, capsys):
    data = tmp_path / "table.npy"
    np.save(data, np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32))
    status = main(["train", "--data", str(data), "--flip", "--out", str(tmp_path / "run"),
                   "--epochs", "1", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and "--flip flips images" in err and "shape (3,)" in err
    assert not (tmp_path / "run" / "checkpoints").exists()
