"""Factories and checks shared by the tests (imported as `helpers`; conftest holds fixtures only).

    tiny_image_model / tiny_vector_model   the smallest models that exercise every layer kind
    randomize_weights / randomize_flow_statistics / randomized   non-identity flows
    dequantised_pixels / two_moons          small data
    autodiff_log_det                        log|det J| from the full autodiff Jacobian
    image_file / train_run                  `tfnvp train` on a small file -> (config.json, stdout)
"""
import json

import numpy as np
import tensorflow as tf

import tfnvp

LEVELS = 4
TINY_IMAGE = dict(num_scales=2, checkerboard_couplings=1, channel_couplings=1, final_couplings=2,
                  num_res_blocks=1, num_filters=8)
TINY_VECTOR = dict(num_couplings=4, hidden_units=16)


def tiny_image_model(**overrides):
    """A 2-scale `(4, 4, 1)` flow on `LEVELS` levels with one coupling of each kind."""
    return tfnvp.RealNVP((4, 4, 1), **{"levels": LEVELS, **TINY_IMAGE, **overrides})


def tiny_vector_model(event_shape=(2,), **overrides):
    """A 4-coupling vector flow with 16-unit MLPs."""
    return tfnvp.RealNVP(event_shape, **{**TINY_VECTOR, **overrides})


def randomize_weights(layer, scale=0.3, seed=0):
    """Overwrite every trainable weight of ``layer`` with N(0, scale^2) so couplings are not the
    identity (conditioners start at zero output by design). Non-trainable weights are kept."""
    rng = np.random.default_rng(seed)
    for weight in layer.trainable_weights:
        weight.assign(rng.normal(0.0, scale, weight.shape).astype(weight.dtype))


def randomize_flow_statistics(model, seed=0):
    """Give every flow-path batch norm a non-trivial running mean and variance."""
    rng = np.random.default_rng(seed)
    for stats in model.batch_norm_statistics:
        stats.moving_mean.assign(rng.normal(0.0, 0.5, stats.moving_mean.shape))
        stats.moving_variance.assign(rng.uniform(0.5, 2.0, stats.moving_variance.shape))


def randomized(model, scale=0.3, seed=0):
    """`model` with random conditioner weights and batch-norm statistics (trained-looking)."""
    for i, conditioner in enumerate(model.conditioners):
        randomize_weights(conditioner, scale=scale, seed=seed + i)
    randomize_flow_statistics(model, seed=seed)
    return model


def dequantised_pixels(rng, n, shape=(4, 4, 1), levels=LEVELS):
    """`n` integer pixels in `[0, levels)` plus U[0, 1) noise, float32 `[n, *shape]`."""
    return (rng.integers(0, levels, (n, *shape)) + rng.uniform(size=(n, *shape))).astype(
        np.float32)


def two_moons(n=256, seed=0):
    """`n` points of two noisy half circles, float32 `[n, 2]`."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, n)
    upper = rng.integers(0, 2, n)
    x = np.stack([np.cos(angle) + upper * 1.0, np.sin(angle) * (1 - 2 * upper) + upper * 0.5], 1)
    return (x + 0.05 * rng.normal(size=x.shape)).astype(np.float32)


def autodiff_log_det(fn, x, event_ndims):
    """log|det J| of `fn` at each example of `x`, from the full autodiff Jacobian."""
    batch_shape = x.shape[:-event_ndims]
    flat_x = tf.reshape(x, [-1, *x.shape[-event_ndims:]])
    with tf.GradientTape() as tape:
        tape.watch(flat_x)
        y = fn(flat_x)
    jac = tape.batch_jacobian(y, flat_x)
    n = flat_x.shape[0]
    d_in = int(np.prod(flat_x.shape[1:]))
    d_out = int(np.prod(y.shape[1:]))
    assert d_in == d_out, "a bijector keeps the number of dimensions"
    _, log_abs = np.linalg.slogdet(tf.reshape(jac, [n, d_out, d_in]).numpy())
    return log_abs.reshape(batch_shape)


def image_file(path, num, side=8):
    """`num` random uint8 grey `side` x `side` images saved to `path` (.npy)."""
    np.save(path, np.random.default_rng(0).integers(0, 256, (num, side, side, 1), np.uint8))
    return path


def train_run(tmp_path, capsys, data, *flags):
    """`tfnvp train --data data` for one epoch into tmp_path/run -> (its config.json, stdout)."""
    from tfnvp_training.cli import main
    args = ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
            "--eval-draws", "1", "--quiet", *flags]
    assert main(args) == 0, capsys.readouterr().err
    return json.loads((tmp_path / "run" / "config.json").read_text()), capsys.readouterr().out
