"""The data flags of `tfnvp train` reach `tfnvp.data.load`, and the run folder records them (with
the data path made absolute), so `tfnvp evaluate` works from any directory without them."""
import json

import numpy as np
import pytest
from PIL import Image

from tfnvp_training.cli import main

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
