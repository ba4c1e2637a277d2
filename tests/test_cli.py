"""The `tfnvp` command end to end on tiny data: train, resume, evaluate, sample, bad input."""
import collections
import importlib
import json
import sys

import numpy as np
import pytest
import tensorflow as tf

import tfnvp
from training.cli import main

TINY_IMAGE = ["--scales", "2", "--checkerboard-couplings", "1", "--channel-couplings", "1",
              "--final-couplings", "2", "--res-blocks", "1", "--filters", "8"]
TINY_VECTOR = ["--coupling-layers", "4", "--hidden-units", "16"]


@pytest.fixture(scope="module", autouse=True)
def data_module():
    """`tfnvp.data`, or a small stand-in with the same interface while it is not there."""
    try:
        yield importlib.import_module("tfnvp.data")
        return
    except ModuleNotFoundError:
        pass
    standin = _standin()
    sys.modules["tfnvp.data"], tfnvp.data = standin, standin
    yield standin
    del sys.modules["tfnvp.data"], tfnvp.data


def _standin():
    from types import SimpleNamespace

    bundle_type = collections.namedtuple("DataBundle", "name train validation test event_shape "
                                         "levels horizontal_flip num_train num_validation num_test")

    def load(source, *, levels=None, validation_fraction=0.1, seed=0, data_dir=None,
             image_size=None):
        if source == "digits":
            from sklearn.datasets import load_digits
            x, levels = load_digits().images.astype("float32")[..., None], 17
        elif source == "moons":
            from sklearn.datasets import make_moons
            x = make_moons(1000, noise=0.05, random_state=seed)[0].astype("float32")
        else:
            raise ValueError(f"unknown dataset {source!r}; expected digits or moons")
        x = x[np.random.default_rng(seed).permutation(len(x))]
        n_test = len(x) // 5
        n_val = int((len(x) - n_test) * validation_fraction)
        parts = x[:n_test], x[n_test:n_test + n_val], x[n_test + n_val:]
        test, val, train = (tf.data.Dataset.from_tensor_slices(p) for p in parts)
        return bundle_type(source, train, val, test, x.shape[1:], levels, False,
                           len(parts[2]), len(parts[1]), len(parts[0]))

    def batches(dataset, batch_size, *, levels, training, horizontal_flip=False, seed=None,
                drop_remainder=False):
        if training:
            dataset = dataset.shuffle(10000, seed=seed)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        if levels:
            dataset = dataset.map(lambda x: x + tf.random.stateless_uniform(
                tf.shape(x), seed=[seed or 0, 1]))
        return dataset

    return SimpleNamespace(load=load, batches=batches, KNOWN_DATASETS=("digits", "moons"))


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
    assert set(config["versions"]) == {"tensorflow", "tensorflow_probability", "keras", "tfnvp"}
    for kind in ("best", "latest"):
        assert (moons_run / "checkpoints" / kind / "ckpt.index").is_file()
    rows = (moons_run / "metrics.csv").read_text().strip().splitlines()
    assert rows[0].startswith("epoch") and "val_loss" in rows[0] and len(rows) == 3
    assert (moons_run / "samples.png").stat().st_size > 1000
    assert any((moons_run / "logs").rglob("events.out.tfevents.*"))
    epoch, step = _saved_counters(moons_run)
    assert epoch == 2 and step > 0 and step % epoch == 0  # the same number of steps per epoch


@pytest.mark.slow
def test_evaluate_reports_the_log_prob_of_the_best_checkpoint(moons_run, capsys, data_module):
    status, out, _ = run(capsys, "evaluate", "--model", str(moons_run))
    assert status == 0
    report = json.loads(out)
    assert report["draws"] == 1 and report["bits_per_dim"] is None  # continuous data
    from training.run_folder import RunFolder
    folder = RunFolder(moons_run)
    model = folder.build_model()
    folder.restore_weights(model, "best")
    test = np.stack(list(data_module.load("moons", seed=0).test.as_numpy_iterator()))
    assert report["examples"] == len(test)
    np.testing.assert_allclose(report["nll"], -model.log_prob(test).numpy().mean(), rtol=1e-5)


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
    np.testing.assert_allclose(report["bits_per_dim"], report["nll"] / (64 * np.log(2)))
    assert 0 < report["bits_per_dim"] < 8  # below log2(17) = 4.09 once trained; sane here
    status, _, _ = run(capsys, "sample", "--model", str(out), "--num", "4",
                       "--out", str(tmp_path / "d.npy"))
    samples = np.load(tmp_path / "d.npy")
    assert samples.shape == (4, 8, 8, 1)
    assert (out / "samples.png").is_file()


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "no_such_dataset", "--out", "{tmp}/x"], "no_such_dataset"),
    (["train", "--config", "no_such_config", "--out", "{tmp}/x"], "unknown config"),
    (["train", "--config", "{tmp}/bad.json", "--out", "{tmp}/x"], "unknown config key 'bogus'"),
    (["train", "--out", "{tmp}/empty", "--resume"], "not a run folder"),
    (["evaluate", "--model", "{tmp}/run"], "missing checkpoint"),
    (["sample", "--model", "{tmp}/run", "--out", "{tmp}/s.png"], "missing checkpoint"),
])
def test_bad_input_exits_non_zero_with_one_line(argv, message, tmp_path, capsys):
    (tmp_path / "bad.json").write_text(json.dumps({"data": "moons", "bogus": 1}))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps({"data": "moons"}))
    status, _, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
