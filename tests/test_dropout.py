"""Dropout in the s/t ResNets (`RealNVP(dropout=...)`, --dropout): random in training only, kept
by `get_config`, refused for vector flows; `tfnvp train` uses `SMALL_SET_DROPOUT` for image sets
of fewer than `LARGE_IMAGE_SET` training images, says so, and records the rate."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import tfnvp
from helpers import TINY_IMAGE, dequantised_pixels, image_file, train_run
from tfnvp.nets.resnet import ResidualBlock, check_dropout
from tfnvp_training.config import LARGE_IMAGE_SET, SMALL_SET_DROPOUT, default_dropout


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.2", True, None])
def test_a_rate_outside_0_1_is_refused_by_name(rate):
    with pytest.raises(ValueError, match=r"dropout must be a rate in \[0, 1\), got " + repr(rate)):
        check_dropout(rate)


def test_block_drops_features_in_training_only_and_round_trips():
    block = ResidualBlock(8, dropout=0.5)
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 4, 4, 8)), tf.float32)
    block.build(x.shape)
    assert not np.allclose(block(x, training=True), block(x, training=True))
    np.testing.assert_array_equal(block(x, training=False), block(x, training=False))
    copy = ResidualBlock.from_config(block.get_config())
    assert copy.dropout == 0.5
    copy.build(x.shape)
    copy.set_weights(block.get_weights())
    np.testing.assert_allclose(copy(x, training=False), block(x, training=False), rtol=1e-6)
    assert ResidualBlock(8).drop is None  # no layer (and no random state) without dropout


def test_flow_with_dropout_is_exact_in_inference_and_survives_saving(tmp_path):
    model = tfnvp.RealNVP((4, 4, 1), 4, dropout=0.3, **TINY_IMAGE)
    x = dequantised_pixels(np.random.default_rng(1), 8)
    model(x)
    for variable in model.trainable_variables:  # non-identity couplings: the nets matter
        variable.assign(variable + 0.1 * tf.random.stateless_normal(variable.shape, [1, 2],
                                                                    dtype=variable.dtype))
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))
    a, b = model(x, training=True), model(x, training=True)
    assert not np.allclose(a, b)
    path = str(tmp_path / "flow.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.dropout == 0.3
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), rtol=1e-5)
    assert tfnvp.RealNVP((4, 4, 1), 4, **TINY_IMAGE).dropout == 0.0  # the model's own default


def test_vector_flows_refuse_dropout():
    with pytest.raises(ValueError, match="`dropout` applies to image flows"):
        tfnvp.RealNVP((3,), dropout=0.2)


def test_default_is_dropout_for_small_image_sets_only():
    assert default_dropout(LARGE_IMAGE_SET - 1) == SMALL_SET_DROPOUT > 0
    assert default_dropout(LARGE_IMAGE_SET) == 0.0
    assert default_dropout(None) == 0.0  # an unknown count: none


TINY = ["--levels", "256", "--batch-size", "64", "--scales", "1", "--final-couplings", "2",
        "--res-blocks", "1", "--filters", "4"]


@pytest.mark.slow
@pytest.mark.parametrize("num_images, flags, rate", [
    (80, (), SMALL_SET_DROPOUT), (80, ("--dropout", "0"), 0.0), (80, ("--dropout", "0.1"), 0.1),
    (int(1.4 * LARGE_IMAGE_SET), (), 0.0)])
def test_train_picks_records_and_says_the_rate(tmp_path, capsys, num_images, flags, rate):
    data = image_file(tmp_path / "images.npy", num_images)
    config, out = train_run(tmp_path, capsys, data, *TINY, *flags)
    assert config["model"]["dropout"] == pytest.approx(rate)
    assert config["model_config"]["dropout"] == pytest.approx(rate)  # what was built
    assert ("s/t dropout:" in out) == (not flags)  # the default and its reason, a flag not
    if not flags:
        assert (f"fewer than {LARGE_IMAGE_SET:,}" in out) == (rate > 0)


@pytest.mark.slow
def test_vector_data_gets_no_dropout_nor_a_word(tmp_path, capsys):
    data = tmp_path / "table.npy"
    np.save(data, np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32))
    config, out = train_run(tmp_path, capsys, data, "--coupling-layers", "2",
                            "--hidden-units", "8")
    assert "dropout" not in config["model"] and "s/t dropout" not in out
