"""TensorFlow Datasets by name through TFDS's real builder path (not `tfds.testing.mock_data`).

A tiny `GeneratorBasedBuilder` defined here (so registered in this process) is prepared with
`download_and_prepare` into a temporary data dir, then loaded by name through `tfnvp.data.load`
and `tfnvp train --data NAME --data-dir DIR`. A set that is not prepared is refused offline with
one line and no download; a download that fails leaves nothing behind.
"""
import json
import os
import re
import socket
import threading

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfnvp import data
from tfnvp.data import network
from tfnvp_training.cli import main

NAME = "tfnvp_tiny_images"                 # TFDS's name of TfnvpTinyImages
SHAPE = (6, 8, 3)                          # not square: kept as stored unless `image_size`
SIZES = {"train": 40, "test": 10}          # no validation split: tfnvp cuts one from train
TINY_MODEL = ["--scales", "1", "--final-couplings", "2", "--res-blocks", "1", "--filters", "8"]


def _images(split):
    """The pixels a split holds: uint8 `[n, *SHAPE]`, a function of the split's name."""
    rng = np.random.default_rng(len(split))
    return rng.integers(0, 256, (SIZES[split], *SHAPE), dtype=np.uint8)


class TfnvpTinyImages(tfds.core.GeneratorBasedBuilder):
    """40 train and 10 test RGB images of 6x8 pixels."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
            {"image": tfds.features.Image(shape=SHAPE), "label": tfds.features.ClassLabel(
                num_classes=2)}))

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split) for split in SIZES}

    def _generate_examples(self, split):
        for i, image in enumerate(_images(split)):
            yield i, {"image": image, "label": i % 2}


class TfnvpTinyTable(tfds.core.GeneratorBasedBuilder):
    """A TFDS set without an `image` feature (never prepared: refused before that)."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
            {"x": tfds.features.Tensor(shape=(2,), dtype=np.float32)}))

    def _split_generators(self, dl_manager):
        raise AssertionError("never prepared")

    def _generate_examples(self):
        raise AssertionError("never prepared")


class TfnvpTinyVarying(TfnvpTinyImages):
    """Images of any size (never prepared: refused before that without `image_size`)."""

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
            {"image": tfds.features.Image(shape=(None, None, 3))}))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tfds")
    TfnvpTinyImages(data_dir=str(folder)).download_and_prepare()
    return folder


@pytest.fixture
def no_download(monkeypatch):
    """Offline, and any download attempt fails the test."""
    monkeypatch.setattr(network, "is_online", lambda: False)

    def download_and_prepare(self, *args, **kwargs):
        pytest.fail(f"a download of {self.name} was attempted")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", download_and_prepare)


def _rows(dataset):
    """The examples of `dataset` as sorted rows of bytes (TFDS stores them in its own order)."""
    return _rows_of(x.astype(np.uint8) for x in dataset.as_numpy_iterator())


def _rows_of(images):
    return sorted(x.tobytes() for x in images)


def test_tfds_can_start_preparing_a_catalogue_set(tmp_path):
    """TFDS 4.9.10 imports `importlib_resources` (undeclared) before any catalogue set downloads,
    to read the set's URL checksums; `mock_data` never gets there. pyproject.toml declares it."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    with open(os.path.join(os.path.dirname(__file__), "..", "pyproject.toml"), "rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    assert any(d.startswith("importlib-resources") for d in dependencies)
    builder_class = type(tfds.builder("cifar10", data_dir=str(tmp_path)))
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in builder_class.url_infos


def test_any_tfds_image_set_loads_by_name_as_stored(data_dir, no_download):
    bundle = data.load(NAME, data_dir=str(data_dir))
    assert bundle.event_shape == SHAPE and bundle.levels == 256  # uint8 image feature
    assert not bundle.horizontal_flip  # only the table's sets are flipped
    train, validation = _rows(bundle.train), _rows(bundle.validation)
    assert (len(train), len(validation)) == (36, 4)  # 10% of train cut off
    assert sorted(train + validation) == _rows_of(_images("train"))
    assert _rows(bundle.test) == _rows_of(_images("test"))


def test_image_size_square_resizes_and_validation_fraction_cuts(data_dir, no_download):
    bundle = data.load(NAME, data_dir=str(data_dir), image_size=4, validation_fraction=0.25)
    x = np.stack(list(bundle.train.as_numpy_iterator()))
    assert bundle.event_shape == (4, 4, 3) and x.shape == (30, 4, 4, 3)
    assert np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= 255
    assert len(list(bundle.validation)) == 10


def test_a_set_without_an_image_feature_is_refused(tmp_path, no_download):
    with pytest.raises(ValueError, match=r"'tfnvp_tiny_table' has no `image` feature \(it has: "
                                         r"x \(Tensor\)\); expected an image data set"):
        data.load("tfnvp_tiny_table", data_dir=str(tmp_path))


def test_images_of_varying_size_need_image_size(tmp_path, no_download):
    with pytest.raises(ValueError, match=re.escape("'tfnvp_tiny_varying' holds images of varying "
                                                   "size (?, ?, 3); pass `image_size`")):
        data.load("tfnvp_tiny_varying", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="'tfnvp_tiny_varying' is not prepared"):  # accepted
        data.load("tfnvp_tiny_varying", data_dir=str(tmp_path), image_size=8)


def test_a_name_no_one_knows_is_an_unknown_dataset(tmp_path, no_download):
    with pytest.raises(ValueError, match="unknown dataset 'no_such_set'.*cifar10.*another "
                                         "TensorFlow Datasets image set"):
        data.load("no_such_set", data_dir=str(tmp_path))


@pytest.mark.slow
def test_train_and_evaluate_by_name_with_data_dir(data_dir, no_download, tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["train", "--data", NAME, "--data-dir", str(data_dir), "--out", str(out),
                   "--epochs", "1", "--batch-size", "12", "--eval-draws", "1", "--quiet",
                   *TINY_MODEL])
    assert status == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert (config["data"], config["data_dir"]) == (NAME, str(data_dir))
    assert config["model_config"]["event_shape"] == list(SHAPE)
    printed = capsys.readouterr().out  # the final figure is on the set's own test split
    assert "\ntest " in printed and f"on {SIZES['test']} examples" in printed
    assert main(["evaluate", "--model", str(out)]) == 0  # data dir from config.json
    report = json.loads(capsys.readouterr().out)
    assert report["examples"] == SIZES["test"] and 0 < report["bits_per_dim"] < 16


def _refusal(capsys, argv):
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize("name", [NAME, "cifar10"])  # ours, and one of the table
def test_offline_and_not_prepared_exits_2_without_downloading(name, no_download, tmp_path,
                                                              capsys):
    missing = tmp_path / "nowhere" / "tfds"
    err = _refusal(capsys, ["train", "--data", name, "--data-dir", str(missing),
                            "--out", str(tmp_path / "run"), "--epochs", "1"])
    assert f"TFDS data set '{name}' is not prepared in {missing}" in err
    assert "offline (nothing was downloaded)" in err
    assert f"tfds build {name} --data_dir DIR" in err and f"tfds.load('{name}'" in err
    assert "pass --data-dir DIR or set TFDS_DATA_DIR=DIR" in err
    assert os.listdir(tmp_path) == []  # no data dir, no run folder


def test_offline_refusal_names_tfds_data_dir_from_the_environment(no_download, tmp_path,
                                                                 monkeypatch, capsys):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "from_env"))
    err = _refusal(capsys, ["train", "--data", NAME, "--out", str(tmp_path / "run")])
    assert f"not prepared in {tmp_path / 'from_env'} and this machine is offline" in err
    assert os.listdir(tmp_path) == []


def test_a_failed_download_removes_what_it_created(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(network, "is_online", lambda: True)

    def failing_download(self, *args, **kwargs):  # as TFDS does: folders first, then the error
        os.makedirs(os.path.join(self.data_dir_root, "downloads", "cs.toronto.edu.tmp"))
        os.makedirs(self.data_dir + ".incomplete")
        raise ConnectionError("Max retries exceeded with url: /cifar-10-binary.tar.gz")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", failing_download)
    before = sorted(str(p) for p in data_dir.rglob("*"))
    for where in (data_dir, tmp_path / "new" / "tfds"):  # an existing data dir, and none
        err = _refusal(capsys, ["train", "--data", "cifar10", "--data-dir", str(where),
                                "--out", str(tmp_path / "run")])
        assert f"TFDS could not download and prepare 'cifar10' into {where} (ConnectionError: " \
               "Max retries exceeded" in err and "tfds build cifar10 --data_dir DIR" in err
    assert sorted(str(p) for p in data_dir.rglob("*")) == before  # the tiny set intact
    assert os.listdir(tmp_path) == []


def test_the_probe_connects_once_with_a_timeout(monkeypatch):
    for variable in ("https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        accepted = threading.Thread(target=server.accept, daemon=True)
        accepted.start()
        monkeypatch.setattr(network, "PROBE_ADDRESS", ("127.0.0.1", port))
        assert network.is_online(timeout=2.0)
        monkeypatch.setattr(network, "PROBE_ADDRESS", ("127.0.0.1", _closed_port()))
        assert not network.is_online(timeout=2.0)
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{port}")  # the proxy is reached
        assert network.is_online(timeout=2.0)


def _closed_port():
    with socket.create_server(("127.0.0.1", 0)) as free:
        return free.getsockname()[1]
