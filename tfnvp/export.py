"""SavedModel export for serving: both directions of the flow as plain TensorFlow graphs.

`export_saved_model(model, "exports/digits")` writes TensorFlow Serving's layout,
`exports/digits/<version>/saved_model.pb + variables/`, with these signatures (batch dimension
`None` everywhere, float32 in and out, batch norm in evaluation mode):

    log_prob(x [B, *event])          -> log_prob [B] (nats, raw-data units: x in [0, levels))
                                        (+ bits_per_dim [B] if the model is discrete)
    encode(x [B, *event])            -> z [B, *event] (+ z_scale0, z_scale1, ... per-scale parts,
                                        finest first, for multi-scale image models)
    decode(z [B, *event])            -> x [B, *event] (+ x_pixels: int32, floor(x) clipped to
                                        [0, levels - 1], if the model is discrete)
    decode_scales(z_scale0, ...)     -> as decode (multi-scale image models only)
    sample(num_samples [] int32, temperature [] float32, seed int64 [2] or [])
                                     -> as decode, x = f^{-1}(z), z ~ N(0, T^2 I); stateless:
                                        the same seed gives the same samples
    serving_default                  =  log_prob

The graphs hold only TensorFlow ops (TFP and tfnvp are Python-level), so
`tf.saved_model.load(path)` works in a process without tfnvp or TensorFlow Probability.
Inputs of the wrong rank or shape are refused by the signature's TensorSpec and, for what a spec
cannot express (parts with different batch sizes, a seed of the wrong size, a negative count or
temperature), by in-graph assertions whose message names the expected value.
"""
import os
import re
import shutil

import tensorflow as tf

from tfnvp.accounting import bits_per_dim
from tfnvp.keras_variables import tf_variable

__all__ = ["export_saved_model", "next_version"]

SIGNATURE_DTYPE = tf.float32  # what a client sends and receives, whatever the model's dtype


def export_saved_model(model, export_dir, version=None):
    """Writes `model` (a `tfnvp.RealNVP`) to `export_dir/<version>/` and returns that path.

    `version`: a positive integer; None = one more than the largest version already there
    (1 for a new folder). An existing version is never overwritten (TensorFlow Serving treats
    versions as immutable); the export is written to a temporary folder and renamed, so a server
    polling `export_dir` never sees half a model.
    """
    export_dir = os.path.abspath(os.fspath(export_dir))
    if version is None:
        version = next_version(export_dir)
    if isinstance(version, bool) or int(version) != version or version < 1:
        raise ValueError(f"version must be an integer >= 1, got {version!r}.")
    path = os.path.join(export_dir, str(int(version)))
    if os.path.exists(path):
        raise FileExistsError(f"{path} already exists; versions are immutable (pass another "
                              f"version, or None for the next one: {next_version(export_dir)}).")
    module = FlowServingModule(model)
    signatures = {name: getattr(module, name) for name in module.signature_names}
    signatures["serving_default"] = module.log_prob
    tmp = os.path.join(export_dir, f".tmp-{int(version)}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(export_dir, exist_ok=True)
    tf.saved_model.save(module, tmp, signatures=signatures)
    os.replace(tmp, path)
    return path


def next_version(export_dir):
    """1 + the largest integer-named subfolder of `export_dir` (1 if none)."""
    if not os.path.isdir(export_dir):
        return 1
    versions = [int(n) for n in os.listdir(export_dir) if re.fullmatch(r"\d+", n)]
    return max(versions, default=0) + 1


class FlowServingModule(tf.Module):
    """The exported object: the model's variables and one `tf.function` per signature.

    The Keras model itself is not tracked (only closed over), so the SavedModel holds plain
    variables and graphs and loads without Keras, TFP or tfnvp.
    """

    def __init__(self, model):
        super().__init__(name="real_nvp_serving")
        self._model = _Untracked(model)
        # tracked, so that tf.saved_model.save writes every variable the graphs capture
        self.model_variables = [tf_variable(v) for v in model.variables]
        self.event_shape = tf.Variable(model.event_shape, dtype=tf.int64, trainable=False,
                                       name="event_shape")
        self.levels = tf.Variable(model.levels or 0, dtype=tf.int64, trainable=False,
                                  name="levels")  # 0: continuous data
        self.num_scales = tf.Variable(model.num_scales if model.is_image else 1, dtype=tf.int64,
                                      trainable=False, name="num_scales")
        event = list(model.event_shape)
        x_spec = tf.TensorSpec([None, *event], SIGNATURE_DTYPE, name="x")
        z_spec = tf.TensorSpec([None, *event], SIGNATURE_DTYPE, name="z")
        self.log_prob = tf.function(self._log_prob, input_signature=[x_spec])
        self.encode = tf.function(self._encode, input_signature=[x_spec])
        self.decode = tf.function(self._decode, input_signature=[z_spec])
        self.sample = tf.function(self._sample, input_signature=[
            tf.TensorSpec([], tf.int32, name="num_samples"),
            tf.TensorSpec([], SIGNATURE_DTYPE, name="temperature"),
            tf.TensorSpec(None, tf.int64, name="seed")])
        self.signature_names = ["log_prob", "encode", "decode", "sample"]
        if self._multi_scale:
            part_specs = [tf.TensorSpec([None, *p.shape[1:]], SIGNATURE_DTYPE, name=f"z_scale{i}")
                          for i, p in enumerate(self._part_shapes())]
            self.decode_scales = tf.function(self._decode_scales, input_signature=part_specs)
            self.signature_names.append("decode_scales")

    @property
    def _multi_scale(self):
        model = self._model.get()
        return model.is_image and model.num_scales > 1

    def _part_shapes(self):
        model = self._model.get()
        return model.split_latents(tf.zeros((1, *model.event_shape), model.flow_dtype))

    # ------------------------------------------------------------ the signatures' bodies

    def _log_prob(self, x):
        model = self._model.get()
        log_prob = model.log_prob(self._checked(x, "x"), training=False)
        outputs = {"log_prob": _out(log_prob)}
        if model.levels is not None:
            outputs["bits_per_dim"] = _out(bits_per_dim(log_prob, model.num_dims))
        return outputs

    def _encode(self, x):
        model = self._model.get()
        z = model.encode(self._checked(x, "x"))
        outputs = {"z": _out(z)}
        if self._multi_scale:
            for i, part in enumerate(model.split_latents(z)):
                outputs[f"z_scale{i}"] = _out(part)
        return outputs

    def _decode(self, z):
        return self._decoded(self._model.get().decode(self._checked(z, "z")))

    def _decode_scales(self, *parts):
        batch = tf.shape(parts[0])[0]
        checks = [tf.debugging.assert_equal(
            tf.shape(p)[0], batch, message=f"decode_scales: z_scale{i} must have the same batch "
                                           f"size as z_scale0") for i, p in enumerate(parts)]
        with tf.control_dependencies(checks):
            parts = [tf.identity(p) for p in parts]
        return self._decoded(self._model.get().decode(list(parts)))

    def _sample(self, num_samples, temperature, seed):
        model = self._model.get()
        checks = [
            tf.debugging.assert_non_negative(num_samples, message="sample: num_samples must be "
                                                                  ">= 0"),
            tf.debugging.assert_non_negative(temperature, message="sample: temperature must be "
                                                                  ">= 0 (T = 0 gives decode(0))"),
            tf.debugging.assert_less_equal(tf.size(seed), 2, message="sample: seed must be an "
                                           "int64 scalar or a vector of shape [2]"),
            tf.debugging.assert_positive(tf.size(seed), message="sample: seed must be an int64 "
                                         "scalar or a vector of shape [2]")]
        with tf.control_dependencies(checks):
            # scalar s -> [s, 0], as RealNVP.sample does; [a, b] -> [a, b]
            seed = tf.concat([tf.reshape(seed, [-1]), tf.zeros([1], tf.int64)], axis=0)[:2]
            shape = tf.concat([[num_samples], model.event_shape], axis=0)
        z = tf.random.stateless_normal(shape, seed=seed, dtype=model.flow_dtype)
        return self._decoded(model.decode(z * tf.cast(temperature, model.flow_dtype)))

    # ------------------------------------------------------------ helpers

    def _checked(self, x, name):
        """`x` after an in-graph check of its shape (the TensorSpec checks it before the call;
        this also guards callers that bypass it, e.g. a session feeding the graph directly)."""
        model = self._model.get()
        rank = len(model.event_shape)
        shape = tf.shape(x)
        padded = tf.concat([shape, tf.fill([rank + 1], -1)], axis=0)[: rank + 1]  # any rank
        ok = tf.logical_and(tf.equal(tf.size(shape), rank + 1),
                            tf.reduce_all(tf.equal(padded[1:], model.event_shape)))
        expected = f"[batch, {', '.join(map(str, model.event_shape))}]"
        check = tf.debugging.Assert(ok, [f"{name} must have shape {expected} (event shape "
                                         f"{model.event_shape}); got shape", shape], summarize=8)
        with tf.control_dependencies([check]):
            return tf.identity(x)

    def _decoded(self, x):
        model = self._model.get()
        outputs = {"x": _out(x)}
        if model.levels is not None:
            # x is dequantised (integer + u, u in [0, 1)), so floor recovers the integer value
            pixels = tf.clip_by_value(tf.floor(x), 0.0, float(model.levels - 1))
            outputs["x_pixels"] = tf.cast(pixels, tf.int32)
        return outputs


class _Untracked:
    """Holds the Keras model without tf.Module/SavedModel tracking it (a plain Python box)."""

    def __init__(self, value):
        self._value = value

    def get(self):
        return self._value


def _out(tensor):
    return tf.cast(tensor, SIGNATURE_DTYPE)
