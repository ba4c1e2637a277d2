"""`tfnvp train --flip/--no-flip` (config key `horizontal_flip`): random left-right flips of the
training images; by default on for the user's image files that look mirror-symmetric
(`tfnvp.data.mirror_symmetry`), off for those that do not and for the digits, and said so;
refused for vectors; recorded in config.json and fixed for a resumed run."""
import json

import numpy as np
import pytest

import tfnvp.data
from tfnvp_training.cli import main

TINY_MODEL = ["--scales", "1", "--final-couplings", "2", "--res-blocks", "1", "--filters", "8"]


def lopsided_images(path, num=80, side=4):
    """Integer images that are bright on the left and dark on the right: a flip is visible."""
    x = np.zeros((num, side, side, 1), np.uint8)
    x[:, :, : side // 2] = 255
    np.save(path, x)
    return path


def two_sided_images(path, num=80, side=4):
    """Half bright on the left, half on the right, plus noise: a mirror-symmetric set."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 64, (num, side, side, 1)).astype(np.uint8)
    x[: num // 2, :, : side // 2] += 128
    x[num // 2:, :, side // 2:] += 128
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
    told = ("random horizontal flips: off (a linear classifier told held-out training images "
            "from their mirror images 100% of the time") in capsys.readouterr().out
    assert told == (flag is None)  # the default, and why, is said; a flag is not repeated
    (batch,) = training_streams
    left, right = batch[:, :, :2].mean(axis=(1, 2, 3)), batch[:, :, 2:].mean(axis=(1, 2, 3))
    mirrored = right > left  # dequantised: left ~255.5, right ~0.5 unless flipped
    assert mirrored.any() == flipped and not mirrored.all()
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["horizontal_flip"] == flipped  # what the run did, also when by default
    if flag == "--flip":  # the flips define the run's data stream: a resume keeps them
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


def test_mirror_symmetric_image_files_are_flipped_by_default_and_others_not(tmp_path):
    symmetric = tfnvp.data.load(str(two_sided_images(tmp_path / "two_sided.npy")))
    assert symmetric.horizontal_flip and symmetric.mirror_accuracy < 0.55
    lopsided = tfnvp.data.load(str(lopsided_images(tmp_path / "lopsided.npy")))
    assert not lopsided.horizontal_flip and lopsided.mirror_accuracy == 1.0
    assert not tfnvp.data.load("digits").horizontal_flip  # digits are not mirror-symmetric


@pytest.mark.slow
def test_a_symmetric_file_trains_with_flips_and_says_why(tmp_path, capsys):
    data = two_sided_images(tmp_path / "two_sided.npy")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
                 "--batch-size", "16", "--eval-draws", "1", "--quiet", *TINY_MODEL]) == 0
    out = capsys.readouterr().out
    assert "random horizontal flips: on (a linear classifier told held-out training images " \
           "from their mirror images" in out and "--no-flip turns them off" in out
    assert json.loads((tmp_path / "run" / "config.json").read_text())["horizontal_flip"] is True


@pytest.mark.slow
def test_a_run_saved_before_flips_were_recorded_resumes_without_them(tmp_path, capsys,
                                                                     training_streams):
    data = lopsided_images(tmp_path / "lopsided.npy")
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--levels", "256", "--out", str(run), "--epochs", "1",
            "--batch-size", "16", "--eval-draws", "1", "--quiet", "--no-flip", *TINY_MODEL]
    assert main(args) == 0, capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    del config["horizontal_flip"]  # as written before the key existed (files were not flipped)
    (run / "config.json").write_text(json.dumps(config))
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "--quiet"]) == 0
    first, resumed = training_streams
    assert (resumed[:, :, 2:] < resumed[:, :, :2]).all()  # still no image mirrored
    assert json.loads((run / "config.json").read_text())["horizontal_flip"] is False
