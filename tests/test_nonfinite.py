import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import tiny_vector_model, two_moons
from tfnvp_training.nonfinite import NonFiniteGuard, NonFiniteLossError, find_non_finite


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_find_non_finite_names_what_it_found():
    good = [("dense/kernel", np.ones((2, 1))), ("dense/bias", np.zeros(1))]
    bad = [("dense/kernel", np.ones((2, 1))), ("dense/bias", np.array([np.inf]))]
    assert find_non_finite(1.5, good) is None
    assert find_non_finite(None, good) is None
    assert find_non_finite(float("nan"), good) == "non-finite loss (nan)"
    assert find_non_finite(float("inf"), bad) == "non-finite loss (inf)"  # the loss comes first
    assert find_non_finite(2.5, bad) == ("non-finite weights (first: dense/bias) with a finite "
                                         "loss (2.5)")
    assert "with a finite loss (not logged)" in find_non_finite(None, bad)


class _UnusedWeight(keras.layers.Layer):
    """Identity layer with a weight the loss never sees: poisoning it leaves the loss finite
    on every host, which is the finite-loss / NaN-weights path forced."""

    def build(self, input_shape):
        self.unused = self.add_weight(name="unused", shape=(1,), initializer="zeros",
                                      trainable=False)

    def call(self, x):
        return x


class _Poison(keras.callbacks.Callback):
    """Sets `weight` to `value` before the batches listed in `batches`."""

    def __init__(self, weight, value, batches):
        super().__init__()
        self.weight, self.value, self.batches = weight, value, set(batches)

    def on_train_batch_begin(self, batch, logs=None):
        if batch in self.batches:
            self.weight.assign(np.full(self.weight.shape, self.value, "float32"))


def test_guard_reports_a_forced_non_finite_loss(capsys):
    model = _model()
    model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    guard = NonFiniteGuard(max_retries=1)
    guard.set_model(model)
    guard.on_train_begin()
    guard.on_train_batch_end(3, {"loss": float("nan")})  # forced: no arithmetic involved
    assert guard.retries == 1
    assert "NonFiniteGuard: non-finite loss (nan) at batch 3; restored" in capsys.readouterr().out
    with pytest.raises(NonFiniteLossError, match=r"^non-finite loss \(inf\) at batch 4 after 1 "):
        guard.on_train_batch_end(4, {"loss": float("inf")})


def test_guard_catches_non_finite_weights_behind_a_finite_loss(capsys):
    keras.utils.set_random_seed(0)
    unused = _UnusedWeight(name="spare")
    model = keras.Sequential([keras.Input((2,)), unused, keras.layers.Dense(1)], name="net")
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    guard = NonFiniteGuard(max_retries=1)
    history = model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0,
                        callbacks=[_Poison(unused.unused, np.nan, {1}), guard])
    assert np.isfinite(history.history["loss"]).all()  # the loss never saw the NaN
    assert guard.retries == 1 and float(unused.unused.numpy()[0]) == 0.0  # restored
    out = capsys.readouterr().out
    assert "non-finite weights (first: net/spare/unused) with a finite loss" in out
    assert "at batch 1; restored last good weights" in out
    with pytest.raises(NonFiniteLossError, match=r"non-finite weights \(first: net/spare/"
                                                 r"unused\) with a finite loss \([0-9.]+\) at "
                                                 r"batch 0 after 1 retries"):
        # the guard's one retry is spent: the next bad batch ends training
        model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0,
                  callbacks=[_Poison(unused.unused, np.inf, {0}), guard])


def test_nan_batch_restores_weights_and_lowers_lr():
    model = _model()
    x = np.ones((8, 2), "float32")
    x[4:] = np.nan  # second batch poisons the weights
    guard = NonFiniteGuard(max_retries=3, lr_factor=0.5, snapshot_every=1)
    model.fit(x, np.ones((8, 1), "float32"), batch_size=4, epochs=1, shuffle=False,
              verbose=0, callbacks=[guard])
    weights = model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in weights)
    assert all(np.array_equal(a, b) for a, b in zip(weights, guard.last_good_weights))
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.05)
    assert guard.retries == 1 and guard.weights_are_good


def test_gives_up_after_max_retries():
    model = _model()
    x = np.full((8, 2), np.nan, "float32")
    guard = NonFiniteGuard(max_retries=2)
    with pytest.raises(NonFiniteLossError, match="after 2 retries"):
        model.fit(x, np.ones((8, 1), "float32"), batch_size=2, epochs=1, verbose=0,
                  callbacks=[guard])
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_lr_lowered_on_each_retry():
    model = _model()
    x = np.ones((8, 2), "float32")
    x[:6] = np.nan  # three bad batches of 2, then a good one
    guard = NonFiniteGuard(max_retries=3, lr_factor=0.5)
    model.fit(x, np.ones((8, 1), "float32"), batch_size=2, epochs=1, shuffle=False,
              verbose=0, callbacks=[guard])
    assert guard.retries == 3
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.1 * 0.5**3)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_scaled_schedule_is_lowered_and_a_plain_schedule_refused_before_training():
    from tfnvp_training.learning_rate import ScaledSchedule
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    x[4:6] = np.nan  # the third batch of 2 is bad
    model = _model()
    schedule = ScaledSchedule(keras.optimizers.schedules.CosineDecay(0.1, decay_steps=100))
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    guard = NonFiniteGuard(max_retries=3, lr_factor=0.5, schedule=schedule)
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[guard])
    assert guard.retries == 1 and float(schedule.scale.numpy()) == 0.5
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())

    model.compile(optimizer=keras.optimizers.SGD(
        keras.optimizers.schedules.CosineDecay(0.1, decay_steps=100)), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(TypeError, match="wrap it in ScaledSchedule"):
        model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[NonFiniteGuard()])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_run_checkpoint_never_writes_non_finite_weights(tmp_path):
    from tfnvp_training.callbacks import CheckpointSaver, RunState
    from tfnvp_training.run_folder import RunFolder

    class PoisonAtEpochEnd(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.layers[0].kernel.assign(np.full((2, 1), np.nan, "float32"))

    run = RunFolder(tmp_path)
    model = _model()
    x = np.ones((8, 2), "float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=2, verbose=0,
              callbacks=[PoisonAtEpochEnd(), CheckpointSaver(run, RunState())])
    reader = tf.train.load_checkpoint(str(tmp_path / "checkpoints" / "latest" / "ckpt"))
    assert int(reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE")) == 1  # epoch 2 not saved
    assert all(np.all(np.isfinite(reader.get_tensor(name)))
               for name in reader.get_variable_to_shape_map() if name.startswith("model_"))


@pytest.mark.slow
def test_train_gives_up_on_non_finite_losses_and_keeps_the_checkpoint_intact(tmp_path, capsys):
    import hashlib
    import re

    from tfnvp_training import load_config, resolve_config, train

    def fingerprint():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted((tmp_path / "checkpoints" / "latest").iterdir())}

    class PoisonFromEpoch1(keras.callbacks.Callback):
        """Every batch of the second epoch starts from NaN weights (after epoch 1 was saved)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            if epoch == 1:
                self.saved = fingerprint()

        def on_train_batch_begin(self, batch, logs=None):
            if self.epoch == 1:
                weight = self.model.trainable_weights[0]
                weight.assign(np.full(weight.shape, np.nan, "float32"))

    poison = PoisonFromEpoch1()
    config = resolve_config(load_config("moons"), {
        "epochs": 3, "batch_size": 1000, "max_nonfinite_retries": 2,
        "steps_per_execution": 1},  # the poison strikes before each batch, not each call
        {"num_couplings": 2, "hidden_units": 8})
    with pytest.raises(NonFiniteLossError) as stopped:
        train(config, tmp_path, callbacks=[poison], verbose=0)
    message = str(stopped.value)
    assert stopped.value.exit_status == 1 and len(message.splitlines()) == 1
    # Which of loss or weights trips the guard first depends on the host (see
    # training/nonfinite.py); both are named, and both count as a retry.
    assert re.search(r"^non-finite (loss \(nan\)|weights \(first: [^)]+\) with a finite loss "
                     r"\([^)]+\)) at batch 2 after 2 retries", message), message
    assert f"the last good checkpoint {tmp_path}/checkpoints/latest is intact" in message
    assert capsys.readouterr().out.count("NonFiniteGuard: non-finite") == 2
    assert fingerprint() == poison.saved
    reader = tf.train.load_checkpoint(str(tmp_path / "checkpoints" / "latest" / "ckpt"))
    assert int(reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE")) == 1
    assert len((tmp_path / "metrics.csv").read_text().strip().splitlines()) == 2  # header, epoch 0


def test_the_command_reports_a_stopped_run_in_one_line_with_its_status(tmp_path, capsys,
                                                                       monkeypatch):
    from tfnvp_training import trainer
    from tfnvp_training.cli import main

    def stopped(*args, **kwargs):
        raise NonFiniteLossError("non-finite loss (nan) at batch 2 after 2 retries (...); the "
                                 "last good checkpoint X is intact; try a lower --lr.")

    monkeypatch.setattr(trainer, "train", stopped)
    status = main(["train", "--data", "moons", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    assert err.strip().splitlines() == ["tfnvp train: non-finite loss (nan) at batch 2 after 2 "
                                        "retries (...); the last good checkpoint X is intact; "
                                        "try a lower --lr."]


def test_a_tfnvp_model_is_checked_inside_its_step_and_weights_are_read_only_when_it_fails():
    """`RealNVP.train_step` records whether its loss and weights stayed finite; the guard reads
    that one boolean per call, and copies the weights to the host only to name a failure."""
    model = tiny_vector_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    guard = NonFiniteGuard(max_retries=1)
    reads = []
    named_weights = guard._named_weights
    guard._named_weights = lambda: reads.append(1) or named_weights()
    x = two_moons(128)
    model.fit(x, batch_size=32, epochs=2, verbose=0, callbacks=[guard])
    assert model.steps_were_finite() and reads == []  # 8 good batches: no weight copied
    poison = _Poison(model.trainable_weights[0], np.nan, {2})
    model.fit(x, batch_size=32, epochs=1, verbose=0, callbacks=[poison, guard])
    assert guard.retries == 1 and len(reads) == 1  # the one bad batch, named
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_the_finite_check_covers_every_step_since_the_last_read():
    """With several steps per compiled call the guard reads the flag after the last of them: a
    bad step followed by a good one must still read as not finite, once."""
    model = tiny_vector_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.optimizer.build(model.trainable_variables)
    good, bad = two_moons(32), np.full((32, 2), np.nan, np.float32)
    weights, slots = model.get_weights(), [v.numpy() for v in model.optimizer.variables]
    model.train_step(tf.constant(bad))
    model.set_weights(weights)  # the bad step's damage undone, as the guard would
    for v, value in zip(model.optimizer.variables, slots):
        v.assign(value)
    model.train_step(tf.constant(good))
    assert all(np.isfinite(w).all() for w in model.get_weights())  # the last step was fine
    assert not model.steps_were_finite()  # ... but the one before it was not
    assert model.steps_were_finite()  # the read started a new check
    model.train_step(tf.constant(good))
    assert model.steps_were_finite()
