"""FlowChain: tfnvp bijectors applied one after another, fused (the flow, a scale, a sub-flow).

    f = f_n o ... o f_1            (steps [f_1, ..., f_n], applied in that order: x -> z)
    log|det df/dx| = sum_k log|det df_k/dx_k|,        x_k = f_{k-1}(x_{k-1})
    inverse: x = f_1^{-1}(... f_n^{-1}(z)), log-dets summed the same way

Unlike `tfb.Chain` (which lists bijectors in the opposite order and routes keyword arguments by
each part's name), a FlowChain takes its steps in application order and gives `training` to every
step, so `flow.forward(x, training=True)` is a training pass of the whole flow through TFP's API.
Each step's fused pass runs once per call: one conditioner evaluation per coupling.
"""
import tensorflow as tf

from tfnvp.bijectors.flow_bijector import FlowBijector

__all__ = ["FlowChain"]


class FlowChain(FlowBijector):
    """Args: `steps`: tfnvp bijectors (`FlowBijector`s) of one event rank, applied in order."""

    def __init__(self, steps, name="flow_chain"):
        parameters = dict(locals())
        steps = tuple(steps)
        if not steps:
            raise ValueError("a FlowChain needs at least one step.")
        ranks = {getattr(step, "event_ndims", None) for step in steps}
        if not all(isinstance(step, FlowBijector) for step in steps) or len(ranks) != 1:
            raise ValueError(f"FlowChain steps must be tfnvp FlowBijectors of one event rank, got "
                             f"{[type(s).__name__ for s in steps]} (event ranks {ranks}).")
        self._steps = steps
        super().__init__(event_ndims=ranks.pop(), parameters=parameters, name=name,
                         is_constant_jacobian=all(s.is_constant_jacobian for s in steps))

    @property
    def steps(self):
        """The bijectors, in the order they are applied to `x`."""
        return self._steps

    def forward_and_log_det(self, x, training=False):
        total = 0.0
        for step in self._steps:
            x, log_det = step.forward_and_log_det(x, training=training)
            total = total + log_det
        return x, total

    def inverse_and_log_det(self, y):
        total = 0.0
        for step in reversed(self._steps):
            y, log_det = step.inverse_and_log_det(y)
            total = total + log_det
        return y, total

    def _forward_event_shape(self, shape):
        for step in self._steps:
            shape = step.forward_event_shape(shape)
        return shape

    def _inverse_event_shape(self, shape):
        for step in reversed(self._steps):
            shape = step.inverse_event_shape(shape)
        return shape

    def _forward_event_shape_tensor(self, shape):
        for step in self._steps:
            shape = step.forward_event_shape_tensor(shape)
        return tf.convert_to_tensor(shape)

    def _inverse_event_shape_tensor(self, shape):
        for step in reversed(self._steps):
            shape = step.inverse_event_shape_tensor(shape)
        return tf.convert_to_tensor(shape)
