import keras
import numpy as np
import pytest

from training.nonfinite import NonFiniteGuard, NonFiniteLossError


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


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
