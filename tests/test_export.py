"""SavedModel export: every signature, loaded by TensorFlow alone, matches the in-memory model.

Two tiny trained models are exported (an image model through `tfnvp export` on a run folder, a
vector model through `model.export`); one fresh subprocess in which tfnvp, TFP and Keras cannot
be imported runs every signature (and the wrong inputs) and writes what it got; the tests
compare. `saved_model_cli` is run on the image export.
"""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfnvp
from helpers import dequantised_pixels, tiny_image_model, tiny_vector_model
from tfnvp.export import export_saved_model, next_version
from tfnvp.run import model_checkpoint
from tfnvp_training.cli import main
from tfnvp_training.run_folder import RunFolder

SEEDS = {"scalar7": 7, "pair": [3, 4], "pair_again": [3, 4], "other_pair": [3, 5]}
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")

# Runs in a fresh interpreter: tfnvp, TFP and Keras are made unimportable before TF is imported.
LOADER = r'''
import json, sys
for blocked in ("tfnvp", "tensorflow_probability", "keras", "tfnvp_training"):
    sys.modules[blocked] = None  # `import tfnvp` now raises ImportError
import numpy as np
import tensorflow as tf

work, results, errors = sys.argv[1], {}, {}

def error_of(call):
    try:
        call()
    except Exception as e:  # what a client sees
        return f"{type(e).__name__}: {e}"
    return "NO ERROR"

for kind in ("image", "vector"):
    loaded = tf.saved_model.load(f"{work}/{kind}_export/1")
    results[f"{kind}/signatures"] = np.array(sorted(loaded.signatures))
    x = np.load(f"{work}/{kind}_x.npy")
    for key, value in loaded.signatures["serving_default"](x=tf.constant(x)).items():
        results[f"{kind}/serving_default/{key}"] = value.numpy()
    for key, value in loaded.signatures["log_prob"](x=tf.constant(x)).items():
        results[f"{kind}/log_prob/{key}"] = value.numpy()
    encoded = loaded.signatures["encode"](x=tf.constant(x))
    for key, value in encoded.items():
        results[f"{kind}/encode/{key}"] = value.numpy()
    for key, value in loaded.decode(encoded["z"]).items():
        results[f"{kind}/decode/{key}"] = value.numpy()
    if "decode_scales" in loaded.signatures:
        parts = {k: v for k, v in encoded.items() if k.startswith("z_scale")}
        decoded = loaded.signatures["decode_scales"](**parts)
        results[f"{kind}/decode_scales/x"] = decoded["x"].numpy()
        errors[f"{kind}/decode_scales_batch"] = error_of(lambda: loaded.decode_scales(
            encoded["z_scale0"][:1], encoded["z_scale1"]))
    zeros = tf.zeros_like(encoded["z"])
    results[f"{kind}/decode_zero/x"] = loaded.decode(zeros)["x"].numpy()
    for name, seed in json.loads(sys.argv[2]).items():
        out = loaded.signatures["sample"](num_samples=tf.constant(3), temperature=tf.constant(0.8),
                                          seed=tf.constant(seed, tf.int64))
        for key, value in out.items():
            results[f"{kind}/sample_{name}/{key}"] = value.numpy()
    results[f"{kind}/sample_t0/x"] = loaded.sample(3, 0.0, tf.constant(1, tf.int64))["x"].numpy()
    results[f"{kind}/event_shape"] = loaded.event_shape.numpy()
    # wrong input: one rank short, one with a wrong event size
    bad_rank, bad_size = x[..., 0], np.concatenate([x, x], axis=-1)
    for name, bad in (("rank", bad_rank), ("size", bad_size)):
        errors[f"{kind}/signature_{name}"] = error_of(
            lambda: loaded.signatures["log_prob"](x=tf.constant(bad)))
        errors[f"{kind}/function_{name}"] = error_of(lambda: loaded.encode(bad))
        errors[f"{kind}/decode_{name}"] = error_of(
            lambda: loaded.signatures["decode"](z=tf.constant(bad)))
    errors[f"{kind}/sample_seed"] = error_of(
        lambda: loaded.sample(2, 1.0, tf.constant([1, 2, 3], tf.int64)))
    errors[f"{kind}/sample_count"] = error_of(
        lambda: loaded.sample(-1, 1.0, tf.constant(1, tf.int64)))

np.savez(f"{work}/results.npz", **results)
with open(f"{work}/errors.json", "w") as f:
    json.dump(errors, f)
print("imported:", sorted(m for m in ("tfnvp", "tensorflow_probability", "keras")
                           if sys.modules.get(m) is not None))
'''


def _train(model, x, steps=4):
    """A few eager Adam steps (no fit: tracing its train step costs more than the steps)."""
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    for batch in np.array_split(x, steps):
        with tf.GradientTape() as tape:
            _, loss = model.compute_nll_and_loss(batch, training=True)  # moves the BN statistics
        model.optimizer.apply(tape.gradient(loss, model.trainable_variables),
                              model.trainable_variables)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The two trained models, their exports, and what the TF-only subprocess got from them."""
    work = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    image = _train(tiny_image_model(), dequantised_pixels(rng, 48))
    vector = _train(tiny_vector_model(),
                    (rng.normal(size=(48, 2)) * [1.0, 3.0] + [0.5, 0.0]).astype("float32"))
    # the image model leaves through the CLI: a run folder (config.json + checkpoint) -> export
    run = RunFolder(work / "image_run")
    run.write_config({"model_config": image.get_config()})
    run.save_checkpoint(model_checkpoint(image, optimizer=image.optimizer,  # as 'tfnvp train'
                                        epoch=tf.Variable(1)), "latest")
    assert main(["export", "--model", str(run.path), "--out", str(work / "image_export")]) == 0
    assert vector.export(str(work / "vector_export")) == str(work / "vector_export" / "1")
    np.save(work / "image_x.npy", dequantised_pixels(rng, 5))
    np.save(work / "vector_x.npy", rng.normal(size=(5, 2)).astype("float32"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", LOADER, str(work), json.dumps(SEEDS)],
                          cwd=work, env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "imported: []" in done.stdout
    results = dict(np.load(work / "results.npz"))
    errors = json.loads((work / "errors.json").read_text())
    return dict(work=work, models={"image": image, "vector": vector}, results=results,
                errors=errors)


KINDS = ("image", "vector")


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_signatures_are_listed(exported, kind):
    expected = {"log_prob", "encode", "decode", "sample", "serving_default"}
    if kind == "image":
        expected.add("decode_scales")  # multi-scale: z as per-scale parts
    assert set(exported["results"][f"{kind}/signatures"]) == expected
    assert tuple(exported["results"][f"{kind}/event_shape"]) == exported["models"][kind].event_shape


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_log_prob_matches_the_trained_model(exported, kind):
    model, got = exported["models"][kind], exported["results"]
    x = np.load(exported["work"] / f"{kind}_x.npy")
    expected = model.log_prob(x).numpy()
    assert not np.allclose(expected, tfnvp.RealNVP.from_config(model.get_config()).log_prob(x))
    np.testing.assert_allclose(got[f"{kind}/log_prob/log_prob"], expected, rtol=1e-5)
    np.testing.assert_array_equal(got[f"{kind}/serving_default/log_prob"],
                                  got[f"{kind}/log_prob/log_prob"])
    if model.levels:
        np.testing.assert_allclose(got[f"{kind}/log_prob/bits_per_dim"],
                                   model.bits_per_dim(x).numpy(), rtol=1e-5)
    else:
        assert f"{kind}/log_prob/bits_per_dim" not in got


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_encode_and_decode_match_and_round_trip(exported, kind):
    model, got = exported["models"][kind], exported["results"]
    x = np.load(exported["work"] / f"{kind}_x.npy")
    z = got[f"{kind}/encode/z"]
    np.testing.assert_allclose(z, model.encode(x).numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[f"{kind}/decode/x"], x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[f"{kind}/decode/x"], model.decode(tf.identity(z)).numpy(),
                               rtol=1e-4, atol=1e-4)
    if kind == "image":
        parts = model.split_latents(tf.constant(z))
        for i, part in enumerate(parts):
            np.testing.assert_array_equal(got[f"image/encode/z_scale{i}"], part.numpy())
        assert len(parts) == 2 and parts[0].shape[1:] == (2, 2, 2)
        np.testing.assert_allclose(got["image/decode_scales/x"], x, rtol=1e-4, atol=1e-4)
        pixels = got["image/decode/x_pixels"]
        assert pixels.dtype == np.int32
        np.testing.assert_array_equal(pixels, np.floor(x).astype(np.int32))  # dequantised ints


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_sample_is_stateless_and_matches_the_model(exported, kind):
    model, got = exported["models"][kind], exported["results"]
    same_a, same_b = got[f"{kind}/sample_pair/x"], got[f"{kind}/sample_pair_again/x"]
    assert same_a.shape == (3, *model.event_shape)
    np.testing.assert_array_equal(same_a, same_b)
    assert np.abs(same_a - got[f"{kind}/sample_other_pair/x"]).min() > 0
    for name in ("scalar7", "pair"):
        expected = model.sample(3, temperature=0.8, seed=SEEDS[name]).numpy()
        np.testing.assert_allclose(got[f"{kind}/sample_{name}/x"], expected, rtol=1e-4, atol=1e-4)
    # temperature 0: every draw is decode(0)
    decode_zero = got[f"{kind}/decode_zero/x"][:1]
    np.testing.assert_allclose(got[f"{kind}/sample_t0/x"], np.repeat(decode_zero, 3, axis=0),
                               rtol=1e-6, atol=1e-6)
    if model.levels:
        pixels = got[f"{kind}/sample_pair/x_pixels"]
        assert pixels.min() >= 0 and pixels.max() <= model.levels - 1
        np.testing.assert_array_equal(pixels, np.clip(np.floor(same_a), 0, model.levels - 1))


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_wrong_shapes_are_refused_with_the_expected_shape(exported, kind):
    errors, model = exported["errors"], exported["models"][kind]
    expected = "[batch, " + ", ".join(map(str, model.event_shape)) + "]"  # our in-graph check
    spec = "(None, " + ", ".join(map(str, model.event_shape)) + ")"  # the TensorSpec's check
    for name in ("rank", "size"):
        assert expected in errors[f"{kind}/signature_{name}"]
        assert expected in errors[f"{kind}/decode_{name}"]
        assert spec in errors[f"{kind}/function_{name}"]
    assert "seed must be an int64 scalar or a vector of shape [2]" in errors[f"{kind}/sample_seed"]
    assert "num_samples must be >= 0" in errors[f"{kind}/sample_count"]
    if kind == "image":
        assert "z_scale1 must have the same batch size as z_scale0" in \
            errors["image/decode_scales_batch"]


@pytest.mark.slow
def test_saved_model_cli_shows_and_runs_log_prob(exported, tmp_path):
    path = str(exported["work"] / "image_export" / "1")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    shown = subprocess.run([SAVED_MODEL_CLI, "show", "--all", "--dir", path], env=env,
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for name in ("log_prob", "encode", "decode", "decode_scales", "sample", "serving_default"):
        assert f"signature_def['{name}']" in shown.stdout
    x_file = exported["work"] / "image_x.npy"
    ran = subprocess.run([SAVED_MODEL_CLI, "run", "--dir", path, "--tag_set", "serve",
                          "--signature_def", "log_prob", "--inputs", f"x={x_file}",
                          "--outdir", str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "log_prob.npy"),
                               exported["models"]["image"].log_prob(np.load(x_file)).numpy(),
                               rtol=1e-5)


@pytest.mark.slow
def test_versions_count_up_and_are_never_overwritten(exported, capsys):
    base = exported["work"] / "vector_export"
    assert next_version(str(base)) == 2
    model = exported["models"]["vector"]
    assert export_saved_model(model, str(base)) == str(base / "2")
    assert sorted(os.listdir(base)) == ["1", "2"]  # no temporary folder left behind
    with pytest.raises(FileExistsError, match="already exists"):
        export_saved_model(model, str(base), version=1)
    with pytest.raises(ValueError, match="version must be an integer >= 1"):
        export_saved_model(model, str(base), version=0)
    run = exported["work"] / "image_run"
    assert main(["export", "--model", str(run), "--out", str(exported["work"] / "image_export"),
                 "--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
