"""The ablation's experimental changes: each does what it says in its block, and nothing after."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import tfnvp
from benchmarks.ablation_experiments import experiment
from tfnvp.nets.scale_and_shift import ScaleAndShift
from tfnvp.nets.weight_norm_conv import WeightNormConv2D
from tfnvp_training import trainer


def _batch_norms(model):
    return sum(isinstance(layer, keras.layers.BatchNormalization)
               for layer in model._flatten_layers())


def _small_flow():
    return tfnvp.RealNVP((4, 4, 1), 17, num_scales=1, num_res_blocks=1, num_filters=4)


def test_no_net_bn_builds_resnets_without_batch_norm_and_puts_it_back():
    with experiment(["no_net_bn"]):
        assert _batch_norms(_small_flow()) == 0
    assert _batch_norms(_small_flow()) > 0


def test_no_weight_norm_convolves_with_g_times_v():
    conv = WeightNormConv2D(3, dtype="float64")
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 4, 4, 2)))
    conv.build(x.shape)
    conv.g.assign([0.5, 2.0, -1.0])
    plain = tf.nn.conv2d(x, conv.v * conv.g, strides=1, padding="SAME") + conv.bias
    with experiment(["no_weight_norm"]):
        np.testing.assert_allclose(conv(x), plain, rtol=1e-12)
    assert not np.allclose(conv(x), plain)  # weight norm again: ||v|| is not 1


def test_scale_sigmoid_gives_glows_scale():
    head = ScaleAndShift(dtype="float64")
    raw = tf.constant(np.random.default_rng(1).normal(size=(3, 4)))
    head.build(raw.shape)
    with experiment(["scale_sigmoid"]):
        s, t = head(raw)
    np.testing.assert_allclose(s, np.log(1 / (1 + np.exp(-(raw[:, :2].numpy() + 2)))),
                               rtol=1e-12)
    np.testing.assert_allclose(t, raw[:, 2:])
    np.testing.assert_allclose(head(raw)[0], np.tanh(raw[:, :2]), rtol=1e-12)


def test_warmup_rises_linearly_over_two_epochs_and_stays_lowerable():
    config = {"lr_schedule": "plateau", "lr": 2e-3}
    with experiment(["warmup"]):
        learning_rate, schedule = trainer.make_learning_rate(config, steps_per_epoch=10)
    rates = [float(learning_rate(step)) for step in (0, 10, 20, 50)]
    np.testing.assert_allclose(rates, [0.0, 1e-3, 2e-3, 2e-3], rtol=1e-6)
    schedule.scale.assign(0.5)  # the plateau policy lowers this
    assert float(learning_rate(50)) == pytest.approx(1e-3)
    assert trainer.make_learning_rate(config, 10) == (2e-3, None)


def test_unknown_experiment_names_the_choices():
    with pytest.raises(ValueError, match="no_net_bn"):
        with experiment(["no_such_change"]):
            pass


def test_data_init_normalises_each_conv_on_its_first_training_batch_only():
    x = tf.constant(np.random.default_rng(2).normal(0.0, 5.0, size=(8, 4, 4, 2)))
    later = tf.constant(np.random.default_rng(3).normal(0.0, 0.5, size=(8, 4, 4, 2)))
    with experiment(["data_init"]):
        conv = WeightNormConv2D(3, dtype="float64")
        last = WeightNormConv2D(3, zero_init=True, dtype="float64")
        conv.build(x.shape)
        last.build(x.shape)
        assert conv(x, training=False).numpy().std() != pytest.approx(1.0, abs=0.1)  # untouched
        first = conv(x, training=True).numpy()
        np.testing.assert_allclose(first.mean(axis=(0, 1, 2)), 0.0, atol=1e-10)
        np.testing.assert_allclose(first.std(axis=(0, 1, 2)), 1.0, rtol=1e-5)
        # the layer now holds that init: the same outputs without re-initialising
        np.testing.assert_allclose(conv(x, training=True), first, rtol=1e-10)
        # not re-normalised on new data: a tenth of the spread gives about a tenth of the std
        assert conv(later, training=True).numpy().std(axis=(0, 1, 2)).max() < 0.5
        np.testing.assert_allclose(last(x, training=True), 0.0)  # the identity couplings stay
    assert not hasattr(WeightNormConv2D(3), "initialised")
    fresh = WeightNormConv2D(3, dtype="float64")
    fresh.build(x.shape)
    assert len(fresh.weights) == 3
