"""The data flags of `tfnvp train` reach `tfnvp.data.load`, and the run folder records them (with
the data path made absolute), so `tfnvp evaluate` works from any directory without them."""
import json

import numpy as np
import pytest
from PIL import Image

import tfnvp
from helpers import image_file, train_run
from tfnvp import data as tfnvp_data
from tfnvp_training.cli import main
from tfnvp_training.evaluation import evaluate_split

TINY_MODEL = ["--scales", "1", "--final-couplings", "2", "--res-blocks", "1", "--filters", "8"]


@pytest.mark.slow
def test_a_relative_data_path_and_the_data_flags_are_recorded(tmp_path, monkeypatch, capsys):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    (here / "faces").mkdir(parents=True)
    elsewhere.mkdir()
    rng = np.random.default_rng(0)
    for i, side in enumerate([6, 10] * 20):  # mixed sizes: only --image-size makes them one
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(
            here / "faces" / f"{i:02d}.png")
    monkeypatch.chdir(here)
    status = main(["train", "--data", "faces", "--image-size", "4", "--validation-fraction",
                   "0.25", "--out", "../run", "--epochs", "1", "--batch-size", "9",
                   "--eval-draws", "1", "--quiet", *TINY_MODEL])
    assert status == 0, capsys.readouterr().err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"] == str(here / "faces")
    assert (config["image_size"], config["validation_fraction"]) == (4, 0.25)
    assert config["model_config"]["event_shape"] == [4, 4, 3]
    capsys.readouterr()

    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", "--model", "../run", "--split", "validation"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data"] == str(here / "faces") and report["examples"] == 9  # 25% of 36

    status = main(["train", "--out", "../run", "--resume", "--image-size", "8"])
    err = capsys.readouterr().err
    assert status == 2 and "a resumed run keeps its --image-size (4), got 8" in err


@pytest.mark.slow
def test_evaluate_splits_the_runs_data_by_the_runs_seed_whatever_its_seed(tmp_path, capsys):
    data = image_file(tmp_path / "images.npy", 60, side=4)  # no named splits: the seed draws them
    train_run(tmp_path, capsys, data, "--seed", "3", "--batch-size", "16", *TINY_MODEL)
    assert main(["evaluate", "--model", str(tmp_path / "run"), "--seed", "5"]) == 0
    report = json.loads(capsys.readouterr().out)

    model = tfnvp.load_run(str(tmp_path / "run"))
    run_test = tfnvp_data.load(str(data), seed=3).test    # what the run held out
    other_test = tfnvp_data.load(str(data), seed=5).test  # partly the run's training images
    expected = evaluate_split(model, run_test, batch_size=16, seed=5, draws=1)
    leaked = evaluate_split(model, other_test, batch_size=16, seed=5, draws=1)
    assert report["nll"] == pytest.approx(expected["nll"], rel=1e-6)
    assert report["nll"] != pytest.approx(leaked["nll"], rel=1e-6)
