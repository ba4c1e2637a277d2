"""The reported figure: NLL per example (nats) and bits/dim on a split, averaged over draws
of the dequantisation noise.

    nll = mean over draws d of  mean over examples x of  -log p(x + u_d),   u_d ~ U[0, 1)^D
    bits/dim = nll / (D ln 2)                           (discrete data only)
"""
import keras
import numpy as np
import tensorflow as tf

from tfnvp import data, nats_to_bits_per_dim

__all__ = ["average_nll", "evaluate_split", "evaluation_seed"]


def evaluation_seed(seed, draw):
    """Noise seed of dequantisation draw `draw` for a run seeded `seed` (apart from training's)."""
    return seed + 1000 + draw


def evaluate_split(model, split, *, batch_size, seed, draws=1, jit_compile=False):
    """`average_nll` of `model` on `split` (an unbatched dataset of raw examples), draw `d`
    dequantised with `evaluation_seed(seed, d)`: what `tfnvp train` reports and `tfnvp
    evaluate` prints."""
    def make_batches(draw):
        return data.batches(split, batch_size, levels=model.levels, training=False,
                            seed=evaluation_seed(seed, draw))

    return average_nll(model, make_batches, draws=draws, jit_compile=jit_compile)


def average_nll(model, make_batches, draws=1, jit_compile=False):
    """`make_batches(draw)` -> batched dataset with that draw's noise. Returns a dict with
    `nll`, `bits_per_dim` (None for continuous data), `draws`, `examples`, `nll_per_draw`."""
    draws = int(draws) if model.levels else 1  # continuous data: nothing to average over
    negative_log_prob = None
    per_draw, examples = [], 0
    for draw in range(draws):
        total, count = 0.0, 0
        for batch in make_batches(draw):
            x, _, _ = keras.utils.unpack_x_y_sample_weight(batch)
            if negative_log_prob is None:  # one trace for every batch size (the last is smaller)
                spec = tf.TensorSpec([None, *x.shape[1:]], x.dtype)
                negative_log_prob = tf.function(lambda x: -model.log_prob(x),
                                                input_signature=[spec], jit_compile=jit_compile)
            nll = negative_log_prob(x).numpy().astype(np.float64)
            total, count = total + nll.sum(), count + nll.size
        if count == 0:
            raise ValueError("the evaluation split is empty.")
        per_draw.append(total / count)
        examples = count
    nll = float(np.mean(per_draw))
    bits = float(nats_to_bits_per_dim(nll, model.num_dims)) if model.levels else None
    return {"nll": nll, "bits_per_dim": bits, "draws": draws, "examples": examples,
            "nll_per_draw": [float(v) for v in per_draw]}
