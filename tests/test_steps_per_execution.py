"""`steps_per_execution` (`tfnvp train --steps-per-execution N`): several batches per compiled
call, chosen to divide the epoch so that epochs stay exact. (Exact resume across calls of
different sizes: tests/test_resume_after_interrupt.py.)"""
import keras
import pytest

from tfnvp_training import resolve_config, train
from tfnvp_training.errors import UsageError
from tfnvp_training.trainer import steps_per_execution


@pytest.mark.parametrize("steps, limit, expected", [
    (72, 8, 8), (21, 8, 7), (125, 8, 5), (127, 8, 1), (4, 8, 4), (59, 8, 1), (8, 1, 1)])
def test_the_largest_divisor_of_the_epoch_within_the_limit(steps, limit, expected):
    assert steps_per_execution(steps, limit) == expected


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "8"])
def test_a_bad_limit_is_refused_by_name(bad):
    with pytest.raises(UsageError, match=r"`steps_per_execution` must be an integer >= 1, got"):
        resolve_config({"data": "moons", "steps_per_execution": bad})


class CallLog(keras.callbacks.Callback):
    """The batch indices `fit` reports at the end of each call, per epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.ends = getattr(self, "ends", []) + [[]]

    def on_train_batch_end(self, batch, logs=None):
        self.ends[-1].append(batch)


def test_each_epoch_trains_exactly_its_batches_in_calls_that_divide_it(tmp_path):
    # moons: 10,000 training points -> 21 batches of 476 an epoch; at most 8 per call -> 7
    config = resolve_config({"data": "moons", "epochs": 2, "batch_size": 476, "patience": 0,
                             "eval_draws": 1, "steps_per_execution": 8},
                            model_overrides={"num_couplings": 2, "hidden_units": 8})
    log = CallLog()
    result = train(config, tmp_path / "run", callbacks=[log], verbose=0)
    assert log.ends == [[6, 13, 20], [6, 13, 20]]  # 3 calls of 7, no batch of the next epoch
    assert int(result["model"].optimizer.iterations.numpy()) == 2 * 21
    assert result["model"].steps_per_execution == 7


def test_a_fresh_run_traces_its_training_step_once(tmp_path, monkeypatch):
    # Optimizer slots made inside the first trace make Keras trace the step a second time
    # (half of the digits model's first fit); the trainer builds them before `fit`.
    import tfnvp
    traced = []
    train_step = tfnvp.RealNVP.train_step

    def counting_train_step(self, data):
        traced.append(1)  # Python runs only while tracing
        return train_step(self, data)

    monkeypatch.setattr(tfnvp.RealNVP, "train_step", counting_train_step)
    config = resolve_config({"data": "moons", "epochs": 2, "batch_size": 476, "patience": 0,
                             "eval_draws": 1, "steps_per_execution": 8},
                            model_overrides={"num_couplings": 2, "hidden_units": 8})
    result = train(config, tmp_path / "run", verbose=0)
    assert int(result["model"].optimizer.iterations.numpy()) == 2 * 21
    assert len(traced) == 1
