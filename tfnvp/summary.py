"""`model.summary()`: the flow as a table of its steps, in the order they apply to `x`.

    step            kind              mask / what          event in -> out        params
    s0_checker0     AffineCoupling    checkerboard 0       (8, 8, 1)              12,345
    ...

plus the event shape, levels, scales, dtype policy, the parameter counts and the latent's
per-scale shapes. (Keras's own summary lists the conditioner layers with output shape `?`: they
are called by bijectors, never by the model's graph.)
"""
import numpy as np

from tfnvp import masks
from tfnvp.bijectors import AffineCoupling, BatchNorm, FactorOut, FlowChain, LogitPreprocessing

__all__ = ["flow_summary"]


def flow_summary(model):
    """The summary of a `tfnvp.RealNVP` as a list of lines."""
    kind = (f"image flow, {model.num_scales} scale(s)" if model.is_image else
            f"vector flow, {model.num_couplings} couplings")
    data = (f"{model.levels} levels (logit preprocessing, alpha {model.alpha:g})" if model.levels
            else "continuous")
    batch_norm = (f"on (momentum {model.batch_norm_momentum:g})" if model.flow_batch_norm
                  else "off")
    lines = [f"RealNVP '{model.name}': {kind}, event shape {model.event_shape}, {data}",
             f"  dtype policy {model.dtype_policy.name}, flow batch norm {batch_norm}, "
             f"L2 {model.l2:g} on the scale parameters"]
    rows = [("step", "kind", "mask / what", "event in -> out", "params")]
    _rows(model.flow, model.event_shape, "", rows)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    lines.append(rule)
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if c < 4 else cell.rjust(w)
                               for c, (cell, w) in enumerate(zip(row, widths))).rstrip())
        if i == 0:
            lines.append(rule)
    lines.append(rule)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    lines.append(f"Total params: {trainable + frozen:,} (trainable {trainable:,}, "
                 f"non-trainable {frozen:,}: batch-norm statistics)")
    if model.is_image and model.num_scales > 1:
        shapes = [tuple(p.shape[1:]) for p in
                  model.split_latents(np.zeros((1, *model.event_shape), np.float32))]
        lines.append(f"Latent z: {model.event_shape}, per scale (finest first, "
                     f"encode(x, per_scale=True)): {', '.join(map(str, shapes))}")
    else:
        lines.append(f"Latent z: {model.event_shape}")
    return lines


def _rows(chain, shape, indent, rows):
    for step in chain.steps:
        out = tuple(step.forward_event_shape(shape))
        params = sum(int(np.prod(v.shape)) for v in step.variables)
        if isinstance(step, FactorOut):
            half = (*shape[:-1], shape[-1] // 2)
            rows.append((indent + step.name, "FactorOut", f"keep {half}, rest to the next "
                         f"scale", f"{shape} -> {shape}", ""))
            _rows(step.inner, half, indent + "  ", rows)
            continue
        if isinstance(step, FlowChain):
            _rows(step, shape, indent + "  ", rows)
            continue
        rows.append((indent + step.name, type(step).__name__, _what(step),
                     f"{shape}" if out == tuple(shape) else f"{shape} -> {out}",
                     f"{params:,}"))
        shape = out


def _what(step):
    if isinstance(step, AffineCoupling):
        net = step.conditioner
        if hasattr(net, "num_blocks"):
            width = f"ResNet {net.num_blocks} blocks x {net.filters}"
        else:
            width = f"MLP {net.hidden_layers} x {net.hidden_units}"
        return f"{_mask_name(step.mask)}, {width}"
    if isinstance(step, BatchNorm):
        return f"{step.statistics.features} running mean(s), variance(s)"
    if isinstance(step, LogitPreprocessing):
        return f"[0, {step.levels}) -> logit"
    return ""


def _mask_name(mask):
    """`mask` as the builder of `tfnvp.masks` that makes it, or "custom"."""
    if mask.ndim == 1:
        for parity in (0, 1):
            if np.array_equal(mask, masks.vector_halves(mask.shape[0], parity)):
                return f"halves {parity}"
        return "custom"
    height, width, channels = mask.shape
    for parity in (0, 1):
        if np.array_equal(mask, masks.checkerboard(height, width, channels, parity)):
            return f"checkerboard {parity}"
        if channels % 2 == 0 and np.array_equal(
                mask, masks.channel_halves(height, width, channels, parity)):
            return f"channels {parity}"
    return "custom"
