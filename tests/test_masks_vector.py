"""Vector flows: the mask families, the permutation between couplings, the compact conditioner,
and the model keywords and flags that choose them (stored, rebuilt, and read from old configs)."""
import json

import numpy as np
import pytest
import tensorflow as tf

import tfnvp
from helpers import randomized
from tfnvp import masks
from tfnvp.bijectors import AffineCoupling, Permute
from tfnvp.nets import MLPConditioner
from tfnvp.run import model_checkpoint, restore_checkpoint
from tfnvp_training import cli, options


def test_alternating_masks_keep_even_or_odd_features():
    np.testing.assert_array_equal(masks.vector_alternating(5, 0), [1, 0, 1, 0, 1])
    np.testing.assert_array_equal(masks.vector_alternating(5, 1), [0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="dim >= 2.*1"):
        masks.vector_alternating(1)


def test_random_masks_keep_half_fixed_by_the_seed_and_pair_up_as_complements():
    a = masks.vector_masks("random", 9, 6, seed=0)
    assert [int(m.sum()) for m in a] == [4, 5] * 3  # D // 2 kept, then the complement
    for even, odd in zip(a[0::2], a[1::2]):
        np.testing.assert_array_equal(even + odd, np.ones(9))
    assert len({m.tobytes() for m in a}) == 6  # a different mask for every coupling
    np.testing.assert_array_equal(np.stack(masks.vector_masks("random", 9, 6, seed=0)),
                                  np.stack(a))
    assert not np.array_equal(masks.vector_masks("random", 9, 2, seed=1)[0], a[0])
    with pytest.raises(ValueError, match="`mask` must be one of halves, alternating, random.*"
                                         "'stripes'"):
        masks.vector_masks("stripes", 9, 2)
    assert options.VECTOR_MASKS == masks.VECTOR_MASKS  # the CLI's choices, spelled out


def test_permute_reorders_features_and_inverts_with_log_det_zero():
    perm = Permute([2, 0, 3, 1])
    x = tf.constant([[10.0, 11.0, 12.0, 13.0]])
    y, log_det = perm.forward_and_log_det(x)
    np.testing.assert_array_equal(y, [[12.0, 10.0, 13.0, 11.0]])
    np.testing.assert_array_equal(log_det, [0.0])
    np.testing.assert_array_equal(perm.inverse(tf.identity(y)), x)
    with pytest.raises(ValueError, match=r"`permutation` must hold each of 0 .. D-1.*\[0, 0, 1\]"):
        Permute([0, 0, 1])
    with pytest.raises(ValueError, match="3 features, the permutation 4"):
        perm.forward(tf.zeros((2, 3)))


@pytest.mark.parametrize("mask", [masks.vector_halves(5, 0), masks.vector_random(5, 7, 1)])
def test_compact_conditioner_sees_only_the_kept_entries_and_outputs_the_transformed(mask):
    net = MLPConditioner(5, hidden_units=6, hidden_layers=1, mask=mask, dtype="float64")
    kept, transformed = int(mask.sum()), int((1 - mask).sum())
    coupling = AffineCoupling(mask, net)  # builds the net
    rng = np.random.default_rng(0)
    for w in net.trainable_weights:
        w.assign(rng.normal(0.0, 0.5, w.shape))
    # R^d -> R^(D-d): d inputs, 2 (D - d) outputs (s and t)
    assert net.hidden[0].kernel.shape == (kept, 6)
    assert net.output_dense.kernel.shape == (6, 2 * transformed)
    x = tf.constant(np.random.default_rng(1).normal(size=(4, 5)))
    s, t = net(tf.concat([x * mask, tf.broadcast_to(tf.constant(mask, tf.float64), x.shape)], -1))
    assert np.all(s.numpy()[:, mask == 1] == 0) and np.all(t.numpy()[:, mask == 1] == 0)
    assert np.all(s.numpy()[:, mask == 0] != 0) and np.all(t.numpy()[:, mask == 0] != 0)
    # the kept entries pass through; the log-det is the sum of s over the transformed ones
    y, log_det = coupling.forward_and_log_det(x)
    np.testing.assert_array_equal(y.numpy()[:, mask == 1], x.numpy()[:, mask == 1])
    np.testing.assert_allclose(log_det, s.numpy().sum(1), rtol=1e-12)
    # and nothing but the kept entries matters
    changed = x.numpy().copy()
    changed[:, mask == 0] += 5.0
    s_changed, _ = net(tf.concat([changed * mask, np.broadcast_to(mask, x.shape)], -1))
    np.testing.assert_array_equal(s_changed, s)


def test_vector_flow_defaults_and_keywords_build_the_masks_and_permutations():
    model = tfnvp.RealNVP((6,), num_couplings=4, hidden_units=8)
    couplings = [step for step in model.flow.steps if isinstance(step, AffineCoupling)]
    np.testing.assert_array_equal([c.mask for c in couplings],
                                  masks.vector_masks("alternating", 6, 4))
    assert all(c.conditioner.mask is not None for c in couplings)  # compact conditioners
    assert model.batch_norm_momentum == 0.9 and not model.permute

    permuted = tfnvp.RealNVP((6,), num_couplings=3, hidden_units=8, mask="random", permute=True,
                             mask_seed=4)
    kinds = [type(step).__name__ for step in permuted.flow.steps]
    assert kinds == ["AffineCoupling", "BatchNorm", "Permute"] * 2 + ["AffineCoupling",
                                                                       "BatchNorm"]
    rebuilt = tfnvp.RealNVP.from_config(json.loads(json.dumps(permuted.get_config())))
    for a, b in zip(permuted.flow.steps, rebuilt.flow.steps):
        for attribute in ("mask", "permutation"):
            if hasattr(a, attribute):
                np.testing.assert_array_equal(getattr(a, attribute), getattr(b, attribute))
    other_seed = tfnvp.RealNVP((6,), num_couplings=3, hidden_units=8, mask="random", mask_seed=5)
    assert not np.array_equal(other_seed.flow.steps[0].mask, permuted.flow.steps[0].mask)
    with pytest.raises(ValueError, match="`mask` must be one of.*'odd'"):
        tfnvp.RealNVP((6,), mask="odd")
    with pytest.raises(ValueError, match="`permute` applies to vector flows"):
        tfnvp.RealNVP((8, 8, 1), levels=4, permute=True)
    assert tfnvp.RealNVP((4, 4, 1), levels=4, num_scales=1).batch_norm_momentum == 0.99


def test_a_vector_config_from_before_the_mask_keywords_rebuilds_that_flow_and_its_weights():
    """Run folders and .keras files written before issue 17 hold no mask/permute/compact keys:
    they had halves, no permutation and conditioners on concat(b*x, b)."""
    old = tfnvp.RealNVP((5,), num_couplings=2, hidden_units=8, mask="halves",
                        compact_conditioner=False, batch_norm_momentum=0.99, dtype="float64")
    randomized(old)
    config = old.get_config()
    for key in ("mask", "permute", "mask_seed", "compact_conditioner"):
        del config[key]
    loaded = tfnvp.RealNVP.from_config(config)
    assert loaded.mask == "halves" and loaded.compact_conditioner is False
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 5)))
    assert not np.allclose(loaded.log_prob(x), old.log_prob(x))  # fresh weights differ...
    for a, b in zip(loaded.weights, old.weights):
        a.assign(b)  # ... the old weights fit the rebuilt flow one for one
    np.testing.assert_allclose(loaded.log_prob(x), old.log_prob(x), rtol=1e-12)


def test_an_old_checkpoint_restores_into_the_rebuilt_flow(tmp_path):
    old = randomized(tfnvp.RealNVP((5,), num_couplings=2, hidden_units=8, mask="halves",
                                   compact_conditioner=False, batch_norm_momentum=0.99))
    folder = tmp_path / "best"
    folder.mkdir()
    model_checkpoint(old).write(str(folder / "ckpt"))
    config = {k: v for k, v in old.get_config().items()
              if k not in ("mask", "permute", "mask_seed", "compact_conditioner")}
    loaded = tfnvp.RealNVP.from_config(config)
    restore_checkpoint(model_checkpoint(loaded), str(folder), partial=True)
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 5)), tf.float32)
    np.testing.assert_allclose(loaded.log_prob(x), old.log_prob(x), rtol=1e-6)


def test_cli_flags_reach_the_model_config(tmp_path):
    x = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = cli.main(["train", "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "run"),
                     "--epochs", "1", "--coupling-layers", "2", "--hidden-units", "8",
                     "--mask", "random", "--permute", "--quiet"])
    assert code == 0
    model_config = json.loads((tmp_path / "run" / "config.json").read_text())["model_config"]
    assert model_config["mask"] == "random" and model_config["permute"] is True
    assert tfnvp.load_run(str(tmp_path / "run")).permute
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "r2"),
                  "--mask", "odd"])
    assert stop.value.code == 2 and not (tmp_path / "r2").exists()
