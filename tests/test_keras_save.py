"""Keras-native save/load: `model.save("run.keras")` + `keras.models.load_model` restore the
weights, the flow-path batch-norm statistics and the optimizer, so training continues exactly
where it stopped (the same losses as the model that never left memory)."""
import keras
import numpy as np
import pytest

import tfnvp
from helpers import randomize_weights, tiny_image_model, tiny_vector_model

MODELS = {"vector": tiny_vector_model, "image": tiny_image_model}


def _data(kind, n=64, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "image":
        return (rng.integers(0, 4, (n, 4, 4, 1)) + rng.uniform(size=(n, 4, 4, 1))).astype("float32")
    return (rng.normal(size=(n, 2)) * [0.5, 3.0] + [2.0, -1.0]).astype("float32")


def _loss(model, x):
    """The training objective in evaluation mode (eager: no test_function to trace)."""
    return float(model.compute_nll_and_loss(x, training=False)[1])


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_keras_round_trip_restores_everything_and_training_continues(kind, tmp_path):
    x, held_out = _data(kind), _data(kind, n=8, seed=1)
    model = MODELS[kind]()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0)
    path = str(tmp_path / "run.keras")
    model.save(path)
    loaded = keras.models.load_model(path)

    assert isinstance(loaded, tfnvp.RealNVP) and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.log_prob(held_out).numpy(),
                                  model.log_prob(held_out).numpy())
    for saved, restored in zip(model.batch_norm_statistics, loaded.batch_norm_statistics):
        assert np.any(saved.moving_mean.numpy() != 0)  # trained, not the initial 0 / 1
        np.testing.assert_array_equal(restored.moving_mean.numpy(), saved.moving_mean.numpy())
        np.testing.assert_array_equal(restored.moving_variance.numpy(),
                                      saved.moving_variance.numpy())
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 8
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for saved, restored in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(restored.numpy(), saved.numpy())  # Adam moments too

    loss_at_save = _loss(model, x)
    kept = model.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]
    resumed = loaded.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(resumed, kept, rtol=1e-5)  # the same trajectory: nothing was lost
    assert _loss(loaded, x) < loss_at_save


def test_uncompiled_model_round_trips_and_can_then_be_trained(tmp_path):
    model = MODELS["vector"]()
    for i, conditioner in enumerate(model.conditioners):
        randomize_weights(conditioner, seed=i)  # not the identity flow of a fresh model
    model.save(str(tmp_path / "fresh.keras"))
    loaded = keras.models.load_model(str(tmp_path / "fresh.keras"))
    x = _data("vector")
    np.testing.assert_array_equal(loaded.log_prob(x).numpy(), model.log_prob(x).numpy())
    assert getattr(loaded, "optimizer", None) is None
    loaded.compile(optimizer=keras.optimizers.Adam(1e-2))
    losses = loaded.fit(x, batch_size=16, epochs=3, verbose=0).history["loss"]
    assert losses[-1] < losses[0]


def test_config_round_trip_keeps_every_setting():
    model = tiny_image_model(flow_batch_norm=False, alpha=0.1, l2=1e-4, name="flow",
                             dtype="mixed_bfloat16")
    model.trainable = False
    config = model.get_config()
    rebuilt = tfnvp.RealNVP.from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.dtype_policy.name == "mixed_bfloat16" and not rebuilt.trainable
    assert rebuilt.name == "flow" and rebuilt.alpha == 0.1 and rebuilt.batch_norm_statistics == []
