"""The reported figure: NLL per example (nats) and bits/dim on a split, averaged over draws
of the dequantisation noise.

    nll = mean over draws d of  mean over examples x of  -log p(x + u_d),   u_d ~ U[0, 1)^D
    bits/dim = nll / (D ln 2)                           (discrete data only)
"""
import numpy as np
import tensorflow as tf

from tfnvp import nats_to_bits_per_dim

__all__ = ["average_nll"]


def average_nll(model, make_batches, draws=1, jit_compile=False):
    """`make_batches(draw)` -> batched dataset with that draw's noise. Returns a dict with
    `nll`, `bits_per_dim` (None for continuous data), `draws`, `examples`, `nll_per_draw`."""
    draws = int(draws) if model.levels else 1  # continuous data: nothing to average over
    negative_log_prob = tf.function(lambda x: -model.log_prob(x), jit_compile=jit_compile)
    per_draw, examples = [], 0
    for draw in range(draws):
        total, count = 0.0, 0
        for batch in make_batches(draw):
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
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
