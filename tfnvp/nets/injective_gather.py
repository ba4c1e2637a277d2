"""A gather along the last axis whose gradient is a gather too (no transposes, exact).

    y[..., k] = x[..., index[k] - 1]   where index[k] >= 1,     y[..., k] = 0  where index[k] = 0

`index` must be injective on its non-zero entries (each input feeds at most one output): then the
adjoint map is the same kind of gather, with the index `adjoint` that sends each input position j
to 1 + the output k that reads it (0 where none does), and the gradient is exactly

    dL/dx = injective_gather(dL/dy, adjoint, index)

TensorFlow's own gradient of `tf.gather(x, i, axis=-1)` is a segment sum along axis 0 between two
transposes of the whole `[B, D]` gradient: in the vector flow's training step those transposes
were 16% of the op time (`benchmarks.op_profile --case vector`). A copy, where each entry has one
source, needs no sum: the values are identical bit for bit.
"""
import numpy as np
import tensorflow as tf

__all__ = ["adjoint_index", "injective_gather"]


def adjoint_index(index, inputs):
    """The adjoint of `index` (see the module) for `inputs` input features."""
    index = np.asarray(index, np.int64)
    sources = index[index > 0] - 1
    if sources.size != np.unique(sources).size or (sources.size and sources.max() >= inputs):
        raise ValueError(f"index must send distinct inputs in [0, {inputs}) (1-based, 0 = zero) "
                         f"to the outputs, got {index.tolist()}")
    adjoint = np.zeros(inputs, np.int32)
    adjoint[sources] = 1 + np.flatnonzero(index > 0)
    return adjoint


def _gather(x, index):
    if np.all(index > 0):
        return tf.gather(x, index - 1, axis=-1)
    padded = tf.concat([tf.zeros_like(x[..., :1]), x], axis=-1)  # position 0 reads a zero
    return tf.gather(padded, index, axis=-1)


def injective_gather(x, index, adjoint):
    """`x [..., D_in]` -> `[..., len(index)]` (module formula); `index`, `adjoint`: int NumPy
    arrays from which `adjoint = adjoint_index(index, D_in)`. Differentiable to any order."""
    @tf.custom_gradient
    def gather(x):
        def gradient(upstream):
            return injective_gather(upstream, adjoint, index)
        return _gather(x, index), gradient
    return gather(x)
