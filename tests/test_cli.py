"""The `tfnvp` command end to end on tiny data: train, resume, evaluate, sample, bad input."""
import hashlib
import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import tfnvp
from tfnvp import data
from tfnvp_training.cli import main
from tfnvp_training.evaluation import evaluation_seed

TINY_IMAGE = ["--scales", "2", "--checkerboard-couplings", "1", "--channel-couplings", "1",
              "--final-couplings", "2", "--res-blocks", "1", "--filters", "8"]
TINY_VECTOR = ["--coupling-layers", "4", "--hidden-units", "16"]


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("moons")
    status = main(["train", "--data", "moons", "--out", str(out), "--epochs", "2",
                   "--batch-size", "100", "--quiet", *TINY_VECTOR])
    assert status == 0
    return out


def _saved_counters(out):
    reader = tf.train.load_checkpoint(str(out / "checkpoints" / "latest" / "ckpt"))
    return (int(reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE")),
            int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")))


@pytest.mark.slow
def test_train_writes_the_run_folder(moons_run):
    config = json.loads((moons_run / "config.json").read_text())
    assert config["data"] == "moons" and config["model"]["num_couplings"] == 4
    assert config["model_config"]["hidden_units"] == 16
    assert set(config["versions"]) == {"python", "tensorflow", "tensorflow_probability", "keras",
                                       "tfnvp"}
    assert config["max_nonfinite_retries"] == 3
    for kind in ("best", "latest"):
        assert (moons_run / "checkpoints" / kind / "ckpt.index").is_file()
    rows = (moons_run / "metrics.csv").read_text().strip().splitlines()
    assert rows[0].startswith("epoch") and "val_loss" in rows[0] and len(rows) == 3
    assert (moons_run / "samples.png").stat().st_size > 1000
    assert any((moons_run / "logs").rglob("events.out.tfevents.*"))
    epoch, step = _saved_counters(moons_run)
    assert epoch == 2 and step > 0 and step % epoch == 0  # the same number of steps per epoch


@pytest.mark.slow
def test_evaluate_reports_the_log_prob_of_the_best_checkpoint(moons_run, capsys):
    status, out, _ = run(capsys, "evaluate", "--model", str(moons_run))
    assert status == 0
    report = json.loads(out)
    assert report["draws"] == 1 and report["bits_per_dim"] is None  # continuous data
    model = tfnvp.load_run(moons_run)  # the documented route from Python
    test = np.stack(list(data.load("moons", seed=0).test.as_numpy_iterator()))
    assert report["examples"] == len(test)
    nll = -model.log_prob(test).numpy().astype(np.float64).mean()
    np.testing.assert_allclose(report["nll"], nll, rtol=1e-6)


@pytest.mark.slow
def test_resume_continues_from_the_saved_epoch_and_step(moons_run, capsys):
    epoch, step = _saved_counters(moons_run)
    status, out, _ = run(capsys, "train", "--out", str(moons_run), "--resume", "--epochs", "3",
                         "--quiet")
    assert status == 0
    assert f"resuming {moons_run} at epoch {epoch}, step {step}" in out
    new_epoch, new_step = _saved_counters(moons_run)
    assert new_epoch == 3 and new_step == step + step // epoch  # one more epoch of steps
    rows = (moons_run / "metrics.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]


@pytest.mark.slow
def test_sample_writes_npy_and_png(moons_run, capsys, tmp_path):
    status, _, _ = run(capsys, "sample", "--model", str(moons_run), "--num", "7",
                       "--temperature", "0.5", "--out", str(tmp_path / "s.npy"))
    assert status == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (7, 2) and np.isfinite(samples).all()
    assert run(capsys, "sample", "--model", str(moons_run), "--num", "50",
               "--out", str(tmp_path / "s.png"))[0] == 0
    assert (tmp_path / "s.png").stat().st_size > 1000


@pytest.mark.slow
def test_digits_end_to_end(tmp_path, capsys):
    out = tmp_path / "digits"
    status, printed, _ = run(capsys, "train", "--config", "digits", "--out", str(out),
                             "--epochs", "1", "--batch-size", "128", "--eval-draws", "1",
                             "--no-jit", "--quiet", *TINY_IMAGE)
    assert status == 0
    assert "bits/dim" in printed and "averaged over 1 dequantisation draw(s)" in printed
    status, printed, _ = run(capsys, "evaluate", "--model", str(out), "--eval-draws", "2")
    report = json.loads(printed)
    assert report["draws"] == 2 and len(report["nll_per_draw"]) == 2
    # tfnvp.load_run gives the same model: on the same dequantised batches, the same NLL
    model, test = tfnvp.load_run(out), data.load("digits", seed=0).test
    for draw, reported in enumerate(report["nll_per_draw"]):
        batches = data.batches(test, 128, levels=17, training=False,
                               seed=evaluation_seed(0, draw))
        nll = np.concatenate([-model.log_prob(x).numpy() for x in batches]).astype(np.float64)
        np.testing.assert_allclose(nll.mean(), reported, rtol=1e-6)
    np.testing.assert_allclose(report["bits_per_dim"], report["nll"] / (64 * np.log(2)))
    assert 0 < report["bits_per_dim"] < 8  # below log2(17) = 4.09 once trained; sane here
    status, _, _ = run(capsys, "sample", "--model", str(out), "--num", "4",
                       "--out", str(tmp_path / "d.npy"))
    samples = np.load(tmp_path / "d.npy")
    assert samples.shape == (4, 8, 8, 1)
    assert (out / "samples.png").is_file()


def _write_bad_inputs(tmp):
    rng = np.random.default_rng(0)
    (tmp / "bad.json").write_text(json.dumps({"data": "moons", "bogus": 1}))
    (tmp / "run").mkdir()
    (tmp / "run" / "config.json").write_text(json.dumps({"data": "moons"}))
    with_nan = rng.normal(size=(50, 2))
    with_nan[7, 1] = np.nan
    np.save(tmp / "nan.npy", with_nan)
    np.save(tmp / "inf_images.npy", np.where(np.arange(50 * 16).reshape(50, 4, 4) == 9, np.inf,
                                             1.0))
    np.save(tmp / "too_high.npy", rng.integers(0, 300, (50, 4, 4)))
    np.save(tmp / "negative.npy", rng.integers(-2, 4, (50, 4, 4)))
    np.save(tmp / "unit_floats.npy", rng.uniform(0, 1, (50, 4, 4)))
    np.save(tmp / "empty.npy", np.zeros((0, 2)))
    np.save(tmp / "rank1.npy", np.zeros(50))
    (tmp / "mixed").mkdir()
    for side in (4, 6):
        Image.fromarray(np.zeros((side, side, 3), np.uint8)).save(tmp / "mixed" / f"{side}.png")


TRAIN = ["train", "--out", "{tmp}/new", "--epochs", "1", "--quiet"]


@pytest.mark.parametrize("argv, expected", [
    (["train", "--data", "no_such_dataset", "--out", "{tmp}/new"],
     ["unknown dataset 'no_such_dataset'", "digits", "moons", "mnist"]),
    (["train", "--config", "no_such_config", "--out", "{tmp}/new"], ["unknown config"]),
    (["train", "--config", "{tmp}/bad.json", "--out", "{tmp}/new"],
     ["unknown config key 'bogus'", "expected one of"]),
    (["train", "--out", "{tmp}/empty", "--resume"], ["not a run folder"]),
    (["evaluate", "--model", "{tmp}/run"], ["missing checkpoint"]),
    (["sample", "--model", "{tmp}/run", "--out", "{tmp}/s.png"], ["missing checkpoint"]),
    ([*TRAIN, "--data", "{tmp}/nan.npy"], ["NaN or Inf", "nan at index (7, 1)", "finite"]),
    ([*TRAIN, "--data", "{tmp}/inf_images.npy"], ["NaN or Inf", "inf at index (0, 2, 1, 0)"]),
    ([*TRAIN, "--data", "{tmp}/too_high.npy"], ["outside [0, 256)", "--levels"]),
    ([*TRAIN, "--data", "{tmp}/negative.npy", "--levels", "4"], ["[-2.0, 3.0] outside [0, 4)"]),
    ([*TRAIN, "--data", "{tmp}/unit_floats.npy"],
     ["floats in [0, 1]", "integers 0..255", "rescale by 255", "--levels"]),
    ([*TRAIN, "--data", "{tmp}/empty.npy"], ["empty dataset", "(0, 2)"]),
    ([*TRAIN, "--data", "{tmp}/rank1.npy"], ["expected vectors of rank 2", "(50,)"]),
    ([*TRAIN, "--data", "moons", "--batch-size", "20000"],
     ["batch size 20000 is larger than the 10000 training examples"]),
    ([*TRAIN, "--data", "digits", "--levels", "0"], ["--levels must be an integer >= 2", "got 0"]),
    ([*TRAIN, "--data", "{tmp}/too_high.npy", "--levels", "1"],
     ["--levels must be an integer >= 2", "got 1"]),
    ([*TRAIN, "--data", "moons", "--levels", "256"],
     ["--levels applies to integer images", "(moons) is continuous vectors of shape (2,)"]),
    ([*TRAIN, "--data", "{tmp}/mixed"], ["images have different sizes", "pass --image-size"]),
    ([*TRAIN, "--data", "{tmp}/too_high.npy", "--image-size", "8"],
     ["--image-size resizes the images of a folder or a TFDS set"]),
    ([*TRAIN, "--data", "moons", "--validation-fraction", "1.5"],
     ["--validation-fraction must lie in (0, 1), got 1.5"]),
])
def test_bad_input_exits_non_zero_with_one_line(argv, expected, tmp_path, capsys):
    _write_bad_inputs(tmp_path)
    status, _, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for text in expected:
        assert text in err
    assert not (tmp_path / "new").exists()  # refused before writing anything


def _fingerprint(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_train_refuses_to_replace_a_run_without_resume_or_overwrite(moons_run, capsys):
    before = _fingerprint(moons_run)
    status, _, err = run(capsys, "train", "--data", "moons", "--out", str(moons_run),
                         "--epochs", "1", "--quiet", *TINY_VECTOR)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert _fingerprint(moons_run) == before
    with pytest.raises(SystemExit) as exit_:  # argparse: the two flags exclude each other
        main(["train", "--out", str(moons_run), "--resume", "--overwrite"])
    assert exit_.value.code == 2 and "not allowed with" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_refuses_data_of_another_shape(moons_run, tmp_path, capsys):
    np.save(tmp_path / "three.npy", np.random.default_rng(0).normal(size=(60, 3)))
    before = _fingerprint(moons_run)
    status, out, err = run(capsys, "evaluate", "--model", str(moons_run),
                           "--data", str(tmp_path / "three.npy"))
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "has shape (3,)" in err and "expects (2,)" in err and "Traceback" not in err
    assert _fingerprint(moons_run) == before


@pytest.mark.slow
def test_corrupt_checkpoint_is_one_line_and_left_alone(moons_run, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(moons_run, broken)
    for file in (broken / "checkpoints").rglob("ckpt.*"):
        file.write_bytes(b"\x00garbage\xff" * 10)
    before = _fingerprint(broken)
    for argv in (["evaluate", "--model", str(broken)],
                 ["sample", "--model", str(broken), "--out", str(tmp_path / "s.npy")],
                 ["train", "--out", str(broken), "--resume", "--quiet"]):
        status, _, err = run(capsys, *argv)
        assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert "is unreadable (corrupt or truncated" in err and str(broken) in err
    assert _fingerprint(broken) == before
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.slow
def test_console_output_is_plain_lines_when_not_a_terminal(tmp_path):
    """Redirected to a file (or a pipe), `tfnvp train` writes one line per epoch, no progress-bar
    control characters, and none of TensorFlow's start-up lines."""
    import subprocess
    import sys

    from tfnvp_training.quiet_start import NOISE
    result = subprocess.run(
        [sys.executable, "-m", "tfnvp_training.cli", "train", "--data", "moons", "--out",
         str(tmp_path / "run"), "--epochs", "2", "--batch-size", "500", *TINY_VECTOR],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [e.split()[1] for e in epochs] == ["1/2", "2/2"]
    assert all("val_loss" in e and "lr 0.001" in e for e in epochs)
    assert "\r" not in result.stdout and "\x1b[" not in result.stdout
    assert not [line for line in result.stderr.splitlines() if any(n in line for n in NOISE)], \
        result.stderr


def test_version_and_defaults_in_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == "tfnvp 0.1.0"
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "(default 1000, or the config's)" in text and "(default: auto)" in text
    assert "plateau (the default)" in text and ("(default 0.002 for images, 0.001 for vectors, or "
                                                "the config's)") in text


@pytest.mark.slow
@pytest.mark.parametrize("rows, expected", [(800, 64), (8000, 256)])
def test_the_default_batch_follows_the_data_and_is_recorded(tmp_path, rows, expected):
    """No --batch-size and no config: 64 (images, small tables), 256 for a table of at least
    LARGE_TABLE_ROWS training rows; config.json records the number (evaluate and resume read
    it). A file without splits keeps 81% of its rows for training: 648 and 6,480 here."""
    from tfnvp_training.config import LARGE_TABLE_ROWS, default_batch_size
    assert default_batch_size(True, 10 * LARGE_TABLE_ROWS) == 64  # images: the paper's 64
    assert default_batch_size(False, LARGE_TABLE_ROWS) == 256
    assert default_batch_size(False, LARGE_TABLE_ROWS - 1) == 64
    path = tmp_path / "table.npy"
    np.save(path, np.random.default_rng(0).normal(size=(rows, 3)).astype(np.float32))
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--out", str(out), "--epochs", "1", "--quiet",
                 *TINY_VECTOR]) == 0
    assert json.loads((out / "config.json").read_text())["batch_size"] == expected
