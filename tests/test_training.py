"""The training application's pieces: fit and the custom loop, the reported figure, configs,
pictures, checkpoints."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import tiny_image_model, tiny_vector_model, two_moons
from tfnvp.run import model_checkpoint
from tfnvp_training import config as run_config
from tfnvp_training.errors import UsageError
from tfnvp_training.evaluation import average_nll
from tfnvp_training.loop import CustomTrainer
from tfnvp_training.pictures import image_grid
from tfnvp_training.run_folder import RunFolder


def test_fit_learns_more_than_a_gaussian():
    """After 8 epochs the flow scores the moons better than the best Gaussian can (1.87 nats;
    measured 1.67-1.69, from 1.92 at the first epoch): it has learned a non-Gaussian shape."""
    x = two_moons()
    gaussian_nll = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * np.cov(x.T)))
    model = tiny_vector_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    data = tf.data.Dataset.from_tensor_slices(x).batch(64)
    history = model.fit(data, epochs=8, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] - 0.1
    assert -model.log_prob(x).numpy().mean() < gaussian_nll - 0.1


@pytest.mark.parametrize("make_model, data", [
    (lambda: tiny_vector_model(dtype="float64"), two_moons(96).astype(np.float64)),
    (tiny_image_model, (np.random.default_rng(1).integers(0, 4, (96, 4, 4, 1)) +
                        np.random.default_rng(2).uniform(size=(96, 4, 4, 1))).astype(np.float32)),
], ids=["vector-float64", "image-float32"])
def test_custom_loop_and_fit_agree(make_model, data):
    """Same initial weights, same batches (no shuffle, noise drawn once): same losses, same
    weights after two epochs."""
    with_fit, with_loop = make_model(), make_model()
    with_loop.set_weights(with_fit.get_weights())
    batches = tf.data.Dataset.from_tensor_slices(data).batch(32)
    with_fit.compile(optimizer=keras.optimizers.Adam(1e-2))
    with_loop.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = with_fit.fit(batches, epochs=2, verbose=0, shuffle=False,
                           validation_data=batches).history
    loop_history = CustomTrainer(with_loop).fit(batches, epochs=2,
                                                validation_data=batches).history
    assert set(loop_history) == set(history)  # loss, nll (bits_per_dim), val_* alike
    # Keras metrics average in float32, so the reported losses agree to float32 precision;
    # the weights themselves agree to the model's precision.
    for key in history:
        np.testing.assert_allclose(loop_history[key], history[key], rtol=1e-5, err_msg=key)
    assert loop_history["loss"][1] < loop_history["loss"][0] - 0.05  # it trained
    tolerance = 1e-9 if data.dtype == np.float64 else 1e-4
    for a, b in zip(with_loop.get_weights(), with_fit.get_weights()):
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)


def test_custom_loop_jit_compile_gives_the_same_step():
    # float64: XLA's and the plain kernels' float32 rounding differ by host (2e-5 after 2 steps)
    plain, jitted = tiny_vector_model(dtype="float64"), tiny_vector_model(dtype="float64")
    jitted.set_weights(plain.get_weights())
    batch = tf.data.Dataset.from_tensor_slices(two_moons(64).astype(np.float64)).batch(64)
    losses = []
    for model, jit in ((plain, False), (jitted, True)):
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        losses.append(CustomTrainer(model, jit_compile=jit).fit(batch, epochs=2).history["loss"])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-10)
    for a, b in zip(plain.get_weights(), jitted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_average_nll_matches_log_prob_and_bits_per_dim():
    """The reported figure is the mean of -log_prob over examples and over the noise draws."""
    model = tiny_image_model()
    pixels = np.random.default_rng(0).integers(0, 4, (40, 4, 4, 1)).astype(np.float32)
    noise = [np.random.default_rng(10 + d).uniform(size=pixels.shape).astype(np.float32)
             for d in range(3)]
    make = lambda d: tf.data.Dataset.from_tensor_slices(pixels + noise[d]).batch(16)  # noqa: E731
    result = average_nll(model, make, draws=3)
    expected = np.mean([-model.log_prob(pixels + n).numpy().mean() for n in noise])
    assert result["draws"] == 3 and result["examples"] == 40
    np.testing.assert_allclose(result["nll"], expected, rtol=1e-5)
    np.testing.assert_allclose(result["bits_per_dim"], expected / (16 * np.log(2)), rtol=1e-5)


def test_checkpoint_holds_every_model_weight(tmp_path):
    """A Keras 3 model is no checkpoint dependency by itself: model_checkpoint must still save and
    restore all weights, flow batch-norm statistics included."""
    source, target = tiny_image_model(), tiny_image_model()
    for weight in source.weights:
        weight.assign(np.random.default_rng(0).normal(size=weight.shape) ** 2 + 0.5)
    run = RunFolder(tmp_path)
    run.save_checkpoint(model_checkpoint(source), "best")
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["best"]
    run.restore_weights(target, "best")
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_missing_checkpoint_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no 'latest' checkpoint"):
        RunFolder(tmp_path).restore_checkpoint(model_checkpoint(tiny_vector_model()), "latest")


@pytest.mark.parametrize("name", run_config.available_configs())
def test_every_packaged_config_loads_and_says_where_it_follows_the_paper(name):
    config = run_config.load_config(name)
    assert config["notes"].strip()
    assert set(config["model"]) <= set(run_config.MODEL_KEYS)


def test_paper_configs_follow_section_4_1():
    cifar = run_config.load_config("cifar10")
    assert cifar["model"] == {"num_scales": 2, "num_res_blocks": 8, "num_filters": 64,
                              "widen_after_squeeze": False}  # the paper's text, not its code
    for name in ("imagenet64", "celeba", "lsun_bedroom"):
        assert run_config.load_config(name)["model"]["num_res_blocks"] == 2
    for name in ("cifar10", "celeba", "imagenet32", "imagenet64", "lsun_bedroom",
                 "lsun_church_outdoor", "lsun_tower"):  # large sets: tfnvp's default would widen
        assert run_config.load_config(name)["model"]["widen_after_squeeze"] is False
    for name in ("cifar10", "imagenet32", "imagenet64", "celeba", "lsun_tower"):
        resolved = run_config.resolve_config(run_config.load_config(name))
        assert resolved["batch_size"] == 64 and resolved["lr"] == 1e-3


def test_flags_override_the_config_and_unknown_keys_are_refused(tmp_path):
    resolved = run_config.resolve_config(run_config.load_config("moons"), {"epochs": 3},
                                         {"hidden_units": 8, "num_couplings": None})
    assert resolved["epochs"] == 3 and resolved["model"]["hidden_units"] == 8
    assert resolved["model"]["num_couplings"] == 8
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"data": "moons", "model": {"num_layers": 3}}))
    with pytest.raises(UsageError, match="unknown config key 'model.num_layers'"):
        run_config.load_config(str(path))
    with pytest.raises(UsageError, match="unknown config 'nope'"):
        run_config.load_config("nope")


def test_image_grid_layout_and_range():
    images = np.stack([np.full((3, 2, 1), v, np.float32) for v in (0.0, 16.5, 20.0)])
    grid = image_grid(images, levels=17, columns=2)
    assert grid.shape == (2 * 4 - 1, 2 * 3 - 1, 1)
    assert grid[0, 0, 0] == 0.0 and grid[0, 3, 0] == 1.0  # 16.5 -> level 16 -> white
    assert grid[4, 0, 0] == 1.0  # 20 is clipped to the top level
    assert grid[3, 0, 0] == 1.0 and grid[0, 2, 0] == 1.0  # white borders


def test_loss_and_nll_are_means_per_example_so_loss_is_nll_plus_l2():
    """With a small last batch, a mean of batch means differs from the mean per example: the
    epoch's loss must be the nll plus the L2 term (which is constant in evaluation)."""
    model = tiny_vector_model(l2=1e-2)
    randomize_weights_of(model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = two_moons(70)  # batches of 32, 32 and 6
    logs = model.evaluate(tf.data.Dataset.from_tensor_slices(x).batch(32), return_dict=True,
                          verbose=0)
    l2 = float(model.regularization_loss())
    assert l2 > 1e-3
    np.testing.assert_allclose(logs["nll"], -model.log_prob(x).numpy().mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], logs["nll"] + l2, rtol=1e-5)


def randomize_weights_of(model):
    from helpers import randomized
    return randomized(model, scale=0.5)


def test_plateau_policy_halves_the_rate_and_early_stopping_stops_on_the_run_state():
    from tfnvp_training.callbacks import EarlyStopping, RunState
    from tfnvp_training.learning_rate import PlateauDecay

    class ValLoss(keras.callbacks.Callback):
        """Reports a chosen validation loss per epoch (first in the list: before the others)."""

        def __init__(self, values):
            super().__init__()
            self.values = values

        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = self.values[epoch]

    values = [3.0, 2.0, 2.5, 2.5, 2.5, 1.5, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    model = tiny_vector_model()
    model.compile(optimizer=keras.optimizers.SGD(0.4))
    state = RunState()
    stopper = EarlyStopping(state, patience=7)
    rates = []

    class Rate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rates.append(float(model.optimizer.learning_rate.numpy()))

    # the stopper before the decay: each asks the shared state, so their order does not matter
    history = model.fit(two_moons(64), batch_size=64, epochs=len(values), verbose=0,
                        callbacks=[ValLoss(values), stopper, PlateauDecay(state, patience=3),
                                   Rate()])
    # best at epochs 0, 1, 5; waits 0 0 1 2 3 0 1 2 3 4 5 6 7 -> halved at waits 3 and 6
    assert rates == pytest.approx([0.4, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1,
                                   0.05, 0.05])
    assert stopper.stopped_early and len(history.history["loss"]) == 13  # of 16 epochs
    assert float(state.best.numpy()) == 1.5
