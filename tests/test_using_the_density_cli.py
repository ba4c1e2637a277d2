"""`tfnvp interpolate | complete | score | plot | sample --resample-from` on tiny trained runs."""
import csv
import math

import numpy as np
import pytest

from tfnvp_training.cli import main
from tfnvp_training.run_folder import RunFolder

pytestmark = pytest.mark.slow

LEVELS = 4
TINY_IMAGE = ["--scales", "2", "--checkerboard-couplings", "1", "--channel-couplings", "1",
              "--final-couplings", "2", "--res-blocks", "1", "--filters", "8"]
TINY_VECTOR = ["--coupling-layers", "4", "--hidden-units", "16"]


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_refused(capsys, argv, *expected, unwritten=None):
    status, _, err = run(capsys, *argv)
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err
    assert unwritten is None or not unwritten.exists()


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A 1-epoch `(4, 4, 1)` run on 4-level images, and 6 integer examples in `examples.npy`."""
    folder = tmp_path_factory.mktemp("image")
    rng = np.random.default_rng(0)
    np.save(folder / "train.npy", rng.integers(0, LEVELS, (96, 4, 4)))
    status = main(["train", "--data", str(folder / "train.npy"), "--levels", str(LEVELS),
                   "--out", str(folder / "run"), "--epochs", "1", "--batch-size", "32",
                   "--no-jit", "--quiet", *TINY_IMAGE])
    assert status == 0
    examples = rng.integers(0, LEVELS, (6, 4, 4, 1))
    np.save(folder / "examples.npy", examples)
    return folder, examples


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("moons")
    status = main(["train", "--data", "moons", "--out", str(folder / "run"), "--epochs", "1",
                   "--batch-size", "500", "--quiet", *TINY_VECTOR])
    assert status == 0
    return folder


def model_of(folder):
    return RunFolder(folder / "run").load_trained_model()[0]


def png_aspect(path):
    """Width / height of a written PNG (the grids are enlarged by a whole factor)."""
    import matplotlib.image
    height, width = matplotlib.image.imread(path).shape[:2]
    return width / height


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- score


def test_score_of_floats_equals_log_prob_batch_by_batch(image_run, tmp_path, capsys):
    folder, examples = image_run
    x = (examples + np.random.default_rng(1).uniform(size=examples.shape)).astype(np.float32)
    np.save(tmp_path / "floats.npy", x)
    status, out, _ = run(capsys, "score", "--model", folder / "run", "--data",
                         tmp_path / "floats.npy", "--batch-size", 4, "--out",
                         tmp_path / "s.csv")
    assert status == 0 and "scored 6 examples" in out
    rows = read_csv(tmp_path / "s.csv")
    assert list(rows[0]) == ["index", "log_prob", "bits_per_dim"]
    assert [int(r["index"]) for r in rows] == list(range(6))
    expected = model_of(folder).log_prob(x).numpy()
    np.testing.assert_allclose([float(r["log_prob"]) for r in rows], expected, atol=2e-6)
    np.testing.assert_allclose([float(r["bits_per_dim"]) for r in rows],
                               -expected / (16 * math.log(2)), atol=2e-6)
    assert run(capsys, "score", "--model", folder / "run", "--data", tmp_path / "floats.npy",
               "--out", tmp_path / "s.npy")[0] == 0
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), expected, rtol=1e-6)


def test_score_of_integers_averages_draws_as_evaluate_does(image_run, tmp_path, capsys):
    import tensorflow as tf

    from tfnvp_training.evaluation import evaluate_split

    folder, examples = image_run
    status, _, _ = run(capsys, "score", "--model", folder / "run", "--data",
                       folder / "examples.npy", "--draws", 3, "--seed", 5, "--batch-size", 4,
                       "--out", tmp_path / "s.npy")
    assert status == 0
    scores = np.load(tmp_path / "s.npy")
    model = model_of(folder)
    split = tf.data.Dataset.from_tensor_slices(examples.astype(np.float32))
    report = evaluate_split(model, split, batch_size=4, seed=5, draws=3)
    np.testing.assert_allclose(-scores.mean(), report["nll"], rtol=1e-6)
    one_draw = evaluate_split(model, split, batch_size=4, seed=5, draws=1)["nll"]
    assert abs(-scores.mean() - one_draw) > 1e-4  # the draws were averaged, not one reused
    centres = model.log_prob((examples + 0.5).astype(np.float32)).numpy()
    assert not np.allclose(scores, centres)  # dequantised, not taken at pixel centres


def test_score_of_a_continuous_model_has_no_bits_per_dim(moons_run, tmp_path, capsys):
    points = np.random.default_rng(0).normal(size=(5, 2))
    np.savetxt(tmp_path / "points.csv", points, delimiter=",", header="x,y", comments="")
    status, _, _ = run(capsys, "score", "--model", moons_run / "run", "--data",
                       tmp_path / "points.csv", "--out", tmp_path / "s.csv")
    assert status == 0
    rows = read_csv(tmp_path / "s.csv")
    assert list(rows[0]) == ["index", "log_prob"]
    np.testing.assert_allclose([float(r["log_prob"]) for r in rows],
                               model_of(moons_run).log_prob(points.astype(np.float32)),
                               atol=2e-6)


# ---------------------------------------------------------------- plot


def test_plot_draws_the_2d_figure(moons_run, image_run, tmp_path, capsys):
    status, out, _ = run(capsys, "plot", "--model", moons_run / "run", "--out",
                         tmp_path / "fig.png")
    assert status == 0 and "2 group(s)" in out  # the two moons found as clusters
    assert (tmp_path / "fig.png").stat().st_size > 20_000
    assert_refused(capsys, ["plot", "--model", image_run[0] / "run", "--out",
                            tmp_path / "no.png"], "draws 2-D models", "(4, 4, 1)",
                   unwritten=tmp_path / "no.png")


# ---------------------------------------------------------------- interpolate


def test_interpolate_writes_paths_and_the_manifold(image_run, tmp_path, capsys):
    folder, examples = image_run
    common = ["--model", folder / "run", "--data", folder / "examples.npy"]
    assert run(capsys, "interpolate", *common, "--pairs", "0:1,2:3", "--num", 5, "--out",
               tmp_path / "paths.npy")[0] == 0
    paths = np.load(tmp_path / "paths.npy")
    assert paths.shape == (2, 5, 4, 4, 1)
    centres = examples + 0.5  # integer pixels are taken at their centres
    np.testing.assert_allclose(paths[:, [0, -1]], centres[[[0, 1], [2, 3]]], atol=1e-4)
    assert run(capsys, "interpolate", *common, "--manifold", "0,1,2,3", "--grid", 3, "--out",
               tmp_path / "grid.npy")[0] == 0
    grid = np.load(tmp_path / "grid.npy")
    assert grid.shape == (3, 3, 4, 4, 1)
    np.testing.assert_allclose(grid[[0, 0, 2, 2], [0, 2, 0, 2]], centres[:4], atol=1e-4)
    assert run(capsys, "interpolate", *common, "--out", tmp_path / "paths.png")[0] == 0
    assert png_aspect(tmp_path / "paths.png") == pytest.approx(39 / 4)  # 1 row of 8 cells
    assert_refused(capsys, ["interpolate", *common, "--pairs", "0:9", "--out",
                            tmp_path / "bad.npy"], "--pairs: row 9 is outside the file's 6 rows",
                   unwritten=tmp_path / "bad.npy")
    assert_refused(capsys, ["interpolate", *common, "--manifold", "0,1,2", "--out",
                            tmp_path / "bad.npy"], "expected four row indices")


# ---------------------------------------------------------------- complete


def test_complete_fills_only_the_hidden_entries(image_run, tmp_path, capsys):
    folder, examples = image_run
    common = ["--model", folder / "run", "--data", folder / "examples.npy"]
    status, out, _ = run(capsys, "complete", *common, "--mask", "bottom-half", "--method",
                         "map", "--steps", 5, "--out", tmp_path / "map.npy")
    assert status == 0 and "with map" in out and "(48 hidden entries)" in out
    completed = np.load(tmp_path / "map.npy")
    assert completed.shape == examples.shape
    np.testing.assert_array_equal(completed[:, :2], examples[:, :2] + 0.5)
    assert np.all((completed[:, 2:] >= 0) & (completed[:, 2:] < LEVELS))
    status, _, _ = run(capsys, "complete", *common, "--mask", "random:0.5", "--method",
                       "sample", "--samples", 2, "--steps", 2, "--out", tmp_path / "s.npy")
    draws = np.load(tmp_path / "s.npy")
    assert status == 0 and draws.shape == (6, 2, 4, 4, 1)
    hidden = np.random.default_rng(0).random(examples.shape) < 0.5  # --seed 0
    np.testing.assert_array_equal(draws[:, 0][~hidden], examples[~hidden] + 0.5)
    assert not np.allclose(draws[:, 0][hidden], examples[hidden] + 0.5)
    np.save(tmp_path / "mask.npy", np.arange(16).reshape(4, 4) % 3 != 0)  # one example, no C
    assert run(capsys, "complete", *common, "--mask", tmp_path / "mask.npy", "--method",
               "map", "--steps", 2, "--out", tmp_path / "m.png")[0] == 0
    assert png_aspect(tmp_path / "m.png") == pytest.approx(29 / 14)  # 3 rows of 6 examples


def test_complete_refuses_bad_masks(image_run, moons_run, tmp_path, capsys):
    folder, _ = image_run
    common = ["--model", folder / "run", "--data", folder / "examples.npy"]
    out = tmp_path / "c.npy"
    np.save(tmp_path / "ints.npy", np.ones((4, 4), np.int64))
    np.save(tmp_path / "wrong.npy", np.ones((3, 3), bool))
    for mask, expected in [("random:1.5", "P in (0, 1)"), ("diagonal", "expected one of"),
                           (tmp_path / "ints.npy", "expected a boolean array"),
                           (tmp_path / "wrong.npy", "expected one example's (4, 4, 1)")]:
        assert_refused(capsys, ["complete", *common, "--mask", mask, "--out", out], expected,
                       unwritten=out)
    np.save(tmp_path / "points.npy", np.zeros((3, 2)))
    assert_refused(capsys, ["complete", "--model", moons_run / "run", "--data",
                            tmp_path / "points.npy", "--mask", "bottom-half", "--out", out],
                   "needs an image model", unwritten=out)


# ---------------------------------------------------------------- sample --resample-from


def test_sample_resamples_chosen_scales_of_a_files_rows(image_run, tmp_path, capsys):
    folder, examples = image_run
    common = ["sample", "--model", folder / "run", "--resample-from", folder / "examples.npy"]
    assert run(capsys, *common, "--redraw-scales", "0", "--num", 3, "--out",
               tmp_path / "r.npy")[0] == 0
    resampled = np.load(tmp_path / "r.npy")
    assert resampled.shape == (6, 3, 4, 4, 1)
    model = model_of(folder)
    kept = model.encode((examples + 0.5).astype(np.float32), per_scale=True)[1].numpy()
    for k in range(3):
        parts = model.encode(resampled[:, k].astype(np.float32), per_scale=True)
        np.testing.assert_allclose(parts[1].numpy(), kept, atol=1e-3)  # scale 1 kept
    assert run(capsys, *common, "--redraw-scales", "0,1", "--temperature", "0.5,1",
               "--out", tmp_path / "r.png")[0] == 0
    assert png_aspect(tmp_path / "r.png") == pytest.approx(44 / 29)  # 6 rows: x, 8 resamples
    assert_refused(capsys, [*common, "--redraw-scales", "2", "--out", tmp_path / "no.npy"],
                   "--redraw-scales [2] names scale(s) [2]", unwritten=tmp_path / "no.npy")
    assert_refused(capsys, [*common, "--out", tmp_path / "no.npy"],
                   "--resample-from FILE and --redraw-scales I,J go together")


def test_sample_takes_a_temperature_per_scale(image_run, tmp_path, capsys):
    folder, _ = image_run
    with pytest.raises(SystemExit) as refused:  # argparse: each T must be > 0
        main(["sample", "--model", str(folder / "run"), "--temperature", "0,1", "--out",
              str(tmp_path / "t.npy")])
    assert refused.value.code == 2 and "expected temperatures > 0" in capsys.readouterr().err
    status, out, _ = run(capsys, "sample", "--model", folder / "run", "--num", 4,
                         "--temperature", "0.01,1", "--out", tmp_path / "t.npy")
    assert status == 0 and "T=0.01,1" in out
    parts = model_of(folder).encode(np.load(tmp_path / "t.npy"), per_scale=True)
    assert np.abs(parts[0].numpy()).max() < 0.1 < np.abs(parts[1].numpy()).max()


# ---------------------------------------------------------------- the data file


def test_a_bad_data_file_is_one_line_and_nothing_written(image_run, tmp_path, capsys):
    folder, _ = image_run
    np.save(tmp_path / "shape.npy", np.zeros((3, 5, 5)))
    np.save(tmp_path / "range.npy", np.full((3, 4, 4), 7))
    (tmp_path / "x.txt").write_text("1,2\n")
    for data, expected in [(tmp_path / "shape.npy", "has shape (3, 5, 5); the model expects "
                                                    "rows of shape (4, 4, 1)"),
                           (tmp_path / "range.npy", "values in [7, 7] outside [0, 4)"),
                           (tmp_path / "x.txt", "unsupported file type '.txt'"),
                           (tmp_path / "missing.npy", "does not exist")]:
        out = tmp_path / "s.csv"
        assert_refused(capsys, ["score", "--model", folder / "run", "--data", data, "--out",
                                out], expected, unwritten=out)
