"""The MAF paper's tabular sets, read from small files written here in the MAF layout: the splits,
the columns kept, the noise and the standardisation of each recipe; errors name what is missing."""
import os

import numpy as np
import pytest

from tfnvp import data as tfnvp_data
from tfnvp.data.tabular_sources import TABULAR_DIMS, TABULAR_FILES
from tfnvp_training import cli


def _splits(bundle):
    return [np.stack(list(split.as_numpy_iterator())).astype(np.float64)
            for split in (bundle.train, bundle.validation, bundle.test)]


def _write(folder, name, writer):
    path = os.path.join(folder, TABULAR_FILES[name][0])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writer(path)
    return path


def test_power_drops_two_columns_adds_the_recorded_grids_noise_and_standardises(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    raw = 10.0 * rng.integers(0, 5, (n, 8))  # a grid far coarser than any noise
    raw[:, 7] = np.arange(n)  # time: no noise, so it identifies the rows
    _write(tmp_path, "power", lambda p: np.save(p, raw))
    train, validation, test = _splits(tfnvp_data.load("power", data_dir=str(tmp_path)))
    assert (train.shape, validation.shape, test.shape) == ((162, 6), (18, 6), (20, 6))
    both = np.vstack([train, validation])
    np.testing.assert_allclose(both.mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(both.std(0), 1.0, rtol=1e-6)
    order = np.arange(n)
    np.random.RandomState(42).shuffle(order)  # the rows, shuffled as the MAF code does
    shuffled = raw[order]
    out = np.vstack([train, validation, test])  # test = the last 10% of the shuffled rows
    # Each output column is an affine map of a kept raw column plus U[0, width) noise.
    for column, (source, width) in enumerate(zip([0, 2, 4, 5, 6, 7],
                                                 [0.001, 0.01, 1.0, 1.0, 1.0, 0.0])):
        slope, intercept = np.polyfit(shuffled[:, source], out[:, column], 1)
        noise = (out[:, column] - intercept) / slope - shuffled[:, source]
        assert np.ptp(noise) == pytest.approx(width, rel=0.05, abs=1e-4), column  # float32


def test_gas_drops_the_labels_time_and_correlated_columns_and_standardises(tmp_path):
    import pandas  # the dev extra installs it (tfnvp[tabular])
    rng = np.random.default_rng(1)
    n = 100
    columns = {"Time": np.arange(n), "Meth": rng.normal(size=n), "Eth": rng.normal(size=n)}
    sensors = rng.normal(size=(n, 4))
    for j in range(4):
        columns[f"s{j}"] = sensors[:, j]
    columns["s1_twin"] = 2.0 * sensors[:, 1] + 1e-3 * rng.normal(size=n)  # corr > 0.98 with s1
    _write(tmp_path, "gas", lambda p: pandas.DataFrame(columns).to_pickle(p))
    train, validation, test = _splits(tfnvp_data.load("gas", data_dir=str(tmp_path)))
    # s1 goes (the first of the correlated pair), its twin stays; standardised over all rows
    kept = np.stack([columns[c] for c in ("s0", "s2", "s3", "s1_twin")], axis=1)
    expected = (kept - kept.mean(0)) / kept.std(0, ddof=1)
    assert (train.shape, validation.shape, test.shape) == ((81, 4), (9, 4), (10, 4))
    np.testing.assert_allclose(np.vstack([train, validation, test]), expected, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("trailing_comma", [False, True])
def test_hepmass_keeps_signal_rows_and_continuous_features(tmp_path, trailing_comma):
    rng = np.random.default_rng(2)

    def rows(n):
        label = rng.integers(0, 2, n)
        f0, f1 = rng.normal(size=n), rng.normal(3.0, 2.0, n)
        f2 = rng.integers(0, 3, n)  # discrete: its smallest value repeats
        mass = rng.choice([500.0, 1000.0, 1500.0], n)  # discrete too
        return np.stack([label, f0, f1, f2, mass], 1)

    train_rows, test_rows = rows(300), rows(60)
    folder = tmp_path / "hepmass"
    folder.mkdir()
    for name, table, end in (("1000_train.csv", train_rows, ""),
                             ("1000_test.csv", test_rows, "," if trailing_comma else "")):
        lines = ["# label,f0,f1,f2,mass"] + [",".join(map(str, r)) + end for r in table]
        (folder / name).write_text("\n".join(lines) + "\n")
    train, validation, test = _splits(tfnvp_data.load("hepmass", data_dir=str(tmp_path)))
    signal = train_rows[train_rows[:, 0] == 1][:, 1:3]  # f0, f1
    mean, std = signal.mean(0), signal.std(0, ddof=1)
    num_validation = int(0.1 * len(signal))
    np.testing.assert_allclose(np.vstack([train, validation]), (signal - mean) / std, rtol=1e-5,
                               atol=1e-6)
    assert len(validation) == num_validation
    np.testing.assert_allclose(test, (test_rows[test_rows[:, 0] == 1][:, 1:3] - mean) / std,
                               rtol=1e-5, atol=1e-6)


def test_miniboone_splits_the_tail_and_standardises_with_train_and_validation(tmp_path):
    raw = np.random.default_rng(3).normal(5.0, 3.0, (150, 43))
    _write(tmp_path, "miniboone", lambda p: np.save(p, raw))
    train, validation, test = _splits(tfnvp_data.load("miniboone", data_dir=str(tmp_path)))
    assert (len(train), len(validation), len(test)) == (122, 13, 15)
    mean, std = raw[:135].mean(0), raw[:135].std(0)
    np.testing.assert_allclose(test, (raw[135:] - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(train, (raw[:122] - mean) / std, rtol=1e-5, atol=1e-5)


def test_bsds300_reads_the_stored_splits(tmp_path):
    import h5py
    rng = np.random.default_rng(4)
    stored = {k: rng.normal(size=(n, 63)) for k, n in (("train", 30), ("validation", 7),
                                                       ("test", 9))}

    def write(path):
        with h5py.File(path, "w") as f:
            for key, x in stored.items():
                f[key] = x

    _write(tmp_path, "bsds300", write)
    bundle = tfnvp_data.load("bsds300", data_dir=str(tmp_path))
    assert bundle.event_shape == (TABULAR_DIMS["bsds300"],) and bundle.levels is None
    for got, key in zip(_splits(bundle), ("train", "validation", "test")):
        np.testing.assert_allclose(got, stored[key], rtol=1e-6)


def test_a_tabular_name_wins_over_a_folder_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.makedirs("miniboone")  # as after unpacking the MAF data here
    assert tfnvp_data.local_path("miniboone") is None
    with pytest.raises(ValueError, match="`data_dir`.*miniboone/data.npy"):
        tfnvp_data.load("miniboone")


def test_errors_name_the_missing_folder_or_file(tmp_path):
    with pytest.raises(ValueError, match="missing .*power/data.npy.*`data_dir`"):
        tfnvp_data.load("power", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="`levels`"):
        tfnvp_data.load("power", data_dir=str(tmp_path), levels=256)
    _write(tmp_path, "power", lambda p: np.save(p, np.zeros((20, 5))))
    with pytest.raises(ValueError, match=r"expected \[N, 8\]"):
        tfnvp_data.load("power", data_dir=str(tmp_path))


def test_cli_without_data_dir_exits_2_naming_the_flag(tmp_path, capsys):
    code = cli.main(["train", "--data", "power", "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--data-dir" in err[0] and "power/data.npy" in err[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_cli_trains_the_miniboone_config_from_data_dir(tmp_path, capsys):
    raw = np.random.default_rng(5).normal(size=(1200, 43))
    _write(tmp_path, "miniboone", lambda p: np.save(p, raw))
    code = cli.main(["train", "--config", "miniboone", "--data-dir", str(tmp_path), "--epochs",
                     "1", "--coupling-layers", "2", "--hidden-units", "8", "--out",
                     str(tmp_path / "run"), "--quiet"])
    assert code == 0
    assert (tmp_path / "run" / "checkpoints" / "best").is_dir()
