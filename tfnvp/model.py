"""RealNVP: the Keras 3 model that owns every variable of a Real NVP flow.

`f: x -> z` is a `FlowChain` of tfnvp bijectors (data -> latent, the paper's direction):

* images `(H, W, C)`, discrete with `levels`: logit preprocessing, then the multi-scale
  architecture (sec. 3.6). Scale i < L-1: `checkerboard_couplings` couplings with alternating
  checkerboard masks, squeeze, `channel_couplings` couplings with alternating channel masks, then
  half of the channels are factored out to `z`; the last scale has `final_couplings`
  checkerboard couplings. The ResNet width doubles per scale (and, with `widen_after_squeeze`,
  already at the channel couplings after each squeeze). `z` has the shape of `x`.
* vectors `(D,)`: `num_couplings` couplings with complementary masks from one family (`mask`:
  even/odd features, first/second halves, or random halves), compact MLP conditioners
  (`R^d -> R^(D-d)`), and optionally a fixed random permutation between couplings (`permute`,
  beyond the paper).

A flow-path batch norm (optional, on by default) follows every coupling.

    log p(x) = log N(f(x); 0, I) + log|det df/dx|          (x in raw units: [0, levels) if discrete)
    sample:    z ~ N(0, T^2 I),  x = f^{-1}(z)

`model.distribution` is the same density as a `tfd.TransformedDistribution`; the model's own
methods use the fused per-layer pass (one conditioner call per coupling) and agree with it
everywhere, on the flow's whole support. Through TFP's API a training pass is
`model.distribution.log_prob(x, bijector_kwargs={"training": True})` (it moves the batch-norm
statistics once, as `train_step` does).
"""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfnvp import masks
from tfnvp.accounting import bits_per_dim
from tfnvp.bijectors import (
    DEFAULT_ALPHA,
    AffineCoupling,
    BatchNorm,
    FactorOut,
    FlowChain,
    LogitPreprocessing,
    Permute,
    Squeeze,
    Unsqueeze,
    merge_latents,
    split_latents,
)
from tfnvp.bijectors.logit import check_levels
from tfnvp.completion import complete
from tfnvp.nets import FlowBatchNormStatistics, MLPConditioner, ResNetConditioner
from tfnvp.nets.resnet import check_dropout
from tfnvp.resampling import latent_temperature, resample
from tfnvp.seeds import stateless_seed

tfb = tfp.bijectors
tfd = tfp.distributions

__all__ = ["RealNVP", "default_num_scales"]

PAPER_L2 = 5e-5
# Flow batch-norm momentum: vectors measured in issue 17 (see tfnvp/bijectors/batch_norm.py),
# images as before (not re-measured).
VECTOR_MOMENTUM = 0.9
IMAGE_MOMENTUM = 0.99
# The s/t ResNets' batch norms (issue 18): with Keras' 0.99, on the digits (20 steps per epoch)
# the validation NLL rose from epoch 2 while the training NLL fell (150 -> 186 nats by epoch 6,
# 3.39 bits/dim); with 0.9 it followed (99.0 nats, 2.23 bits/dim at epoch 6).
NET_MOMENTUM = 0.9
# Vector masks: alternating is the one that led zuko on every set measured; random halves were
# better on photo patches (-165.9 vs -164.9 nats) and breast cancer but worse than zuko on
# diabetes (11.0 vs 10.9; alternating 9.7), halves and a permutation worse on the patches
# (README, "Vector flows and tabular data").
VECTOR_MASK = "alternating"
# Vector MLP width: 256 beat 128 on 8x8 photo patches (63-D) by 0.46 nats and on three
# scikit-learn tables by 0-1.9 nats (3 seeds each; README, "Vector flows and tabular data").
VECTOR_HIDDEN_UNITS = 256
# What a vector flow's config without these keys (saved before issue 17) was built with.
LEGACY_VECTOR_CONFIG = {"mask": "halves", "permute": False, "compact_conditioner": False}
# What an image flow's config without these keys (saved before issue 18) was built with.
LEGACY_IMAGE_CONFIG = {"widen_after_squeeze": False, "net_batch_norm_momentum": 0.99}


def default_num_scales(height, width):
    """1 + the number of squeezes that keep both sides even and at least 4 after halving."""
    scales = 1
    while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= 4:
        height, width, scales = height // 2, width // 2, scales + 1
    return scales


@keras.saving.register_keras_serializable("tfnvp")
class RealNVP(keras.Model):
    """Real NVP density model for images `(H, W, C)` or vectors `(D,)`.

    Args:
      event_shape: `(H, W, C)` for the multi-scale image flow, `(D,)` for the vector flow.
      levels: number of discrete values per entry (256 for 8-bit pixels, 17 for the 8x8 digits);
        inputs are dequantised values in `[0, levels)` and a logit preprocessing step is part of
        the flow. `None`: continuous data, no preprocessing.
      num_scales, checkerboard_couplings, channel_couplings, final_couplings, num_res_blocks,
        num_filters: image architecture (paper: 3, 3, 4; filters double per scale).
      widen_after_squeeze: images, the channel couplings after a squeeze get the next scale's
        width (2x) as in the paper's code; False: the width of their scale. (`tfnvp train`
        turns it on for sets of at least 4,000 training images: `tfnvp_training.config`.)
      num_couplings, hidden_units, hidden_layers: vector architecture (8 couplings of ReLU
        MLPs, 2 x 256 by default).
      mask: vector masks, "alternating" (even/odd features, the default), "halves" (first/second
        half) or "random" (a random half per pair of couplings, drawn from `mask_seed`); the
        couplings alternate between a mask and its complement.
      permute: vectors, a fixed random permutation (from `mask_seed`) after every coupling but
        the last (beyond the paper; default off).
      mask_seed: seed of the random masks and permutations (stored in `get_config`).
      compact_conditioner: vectors, True (the default): each conditioner sees only the kept
        entries and outputs only the transformed ones. False rebuilds vector flows saved before
        it (their conditioners see `concat(b*x, b)` and output every entry).
      flow_batch_norm, batch_norm_momentum: batch norm in the flow path after each coupling
        (momentum default: 0.9 for vectors, 0.99 for images).
      net_batch_norm_momentum: images, momentum of the batch norms inside the s/t ResNets
        (default 0.9; Keras' 0.99 made the evaluation-mode network lag the trained one).
      dropout: images, dropout rate inside each residual block in training (default 0: none;
        `tfnvp train` uses 0.2 for sets of fewer than 4,000 training images:
        `tfnvp_training.config`).
      alpha: logit preprocessing margin (paper: 0.05).
      l2: L2 penalty on the scale parameters (weight-norm scales and the tanh scales; paper 5e-5).
      dtype: Keras dtype policy ("float32", "float64", "mixed_bfloat16", ...).
    """

    def __init__(self, event_shape, levels=None, *, num_scales=None, checkerboard_couplings=3,
                 channel_couplings=3, final_couplings=4, num_res_blocks=None, num_filters=None,
                 widen_after_squeeze=False, num_couplings=8, hidden_units=None, hidden_layers=2,
                 mask=None, permute=None, mask_seed=0, compact_conditioner=True,
                 flow_batch_norm=True, batch_norm_momentum=None, net_batch_norm_momentum=None,
                 dropout=0.0, alpha=DEFAULT_ALPHA, l2=PAPER_L2, **kwargs):
        # model(x) must be log_prob(x): Keras would otherwise round x to the compute dtype
        # (bfloat16 under mixed precision) before the flow sees it.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        event_shape = _check_event_shape(event_shape)
        self.event_shape = event_shape
        self.levels = None if levels is None else check_levels(levels)
        self.is_image = len(event_shape) == 3
        self.flow_batch_norm = bool(flow_batch_norm)
        if batch_norm_momentum is None:
            batch_norm_momentum = IMAGE_MOMENTUM if self.is_image else VECTOR_MOMENTUM
        self.batch_norm_momentum = float(batch_norm_momentum)
        self.alpha = float(alpha)
        self.l2 = float(l2)
        if self.is_image:
            height, width, _ = event_shape
            small = max(height, width) <= 16
            self.num_scales = (default_num_scales(height, width) if num_scales is None
                               else _check_count("num_scales", num_scales))
            self.checkerboard_couplings = _check_count("checkerboard_couplings",
                                                       checkerboard_couplings)
            self.channel_couplings = _check_count("channel_couplings", channel_couplings)
            self.final_couplings = _check_count("final_couplings", final_couplings)
            self.num_res_blocks = _check_count(
                "num_res_blocks", (2 if small else 4) if num_res_blocks is None else num_res_blocks,
                minimum=0)
            self.num_filters = _check_count(
                "num_filters", (32 if small else 64) if num_filters is None else num_filters)
            self.widen_after_squeeze = bool(widen_after_squeeze)
            self.net_batch_norm_momentum = float(NET_MOMENTUM if net_batch_norm_momentum is None
                                                 else net_batch_norm_momentum)
            self.dropout = check_dropout(dropout)
            _check_scales(self.num_scales, event_shape)
            for name, value in (("mask", mask), ("permute", permute)):
                if value is not None:
                    raise ValueError(f"`{name}` applies to vector flows; got {value!r} for the "
                                     f"image shape {event_shape} (its masks are the paper's).")
        else:
            if widen_after_squeeze:
                raise ValueError(f"`widen_after_squeeze` applies to image flows; got True for the "
                                 f"vector shape {event_shape} (it has no squeeze).")
            if dropout:
                raise ValueError(f"`dropout` applies to image flows (their ResNets); got "
                                 f"{dropout!r} for the vector shape {event_shape}.")
            if net_batch_norm_momentum is not None:
                raise ValueError(f"`net_batch_norm_momentum` applies to image flows (their "
                                 f"ResNets); got {net_batch_norm_momentum!r} for the vector shape "
                                 f"{event_shape} (its MLPs have no batch norm).")
            self.num_couplings = _check_count("num_couplings", num_couplings)
            self.hidden_units = _check_count(
                "hidden_units", VECTOR_HIDDEN_UNITS if hidden_units is None else hidden_units)
            self.hidden_layers = _check_count("hidden_layers", hidden_layers, minimum=0)
            self.mask = VECTOR_MASK if mask is None else mask  # masks.vector_masks checks it
            self.permute = bool(permute)
            self.mask_seed = _check_count("mask_seed", mask_seed, minimum=0)
            self.compact_conditioner = bool(compact_conditioner)
            if event_shape[0] < 2:
                raise ValueError(f"a vector flow needs at least 2 features, got event_shape "
                                 f"{event_shape}.")

        # Keras owns the state: these lists are tracked; the bijectors below only borrow them.
        self.conditioners = []
        self.batch_norm_statistics = []
        self._squeeze = Squeeze(name="squeeze")
        steps = []
        if self.levels is not None:
            steps.append(LogitPreprocessing(self.levels, event_ndims=len(event_shape),
                                            alpha=self.alpha, name="logit_preprocessing"))
        steps += self._image_steps() if self.is_image else self._vector_steps()
        flow = FlowChain(steps, name="real_nvp_flow")
        self._bijector_holder = {"flow": flow}  # a plain dict: TF/Keras need not track TFP modules
        # Whether every training step since the last check left its loss and every weight
        # finite, computed inside the compiled step: NaN recovery (NonFiniteGuard) reads one
        # boolean per call instead of copying every weight to the host; an AND over the steps,
        # so that a call of several steps (`steps_per_execution`) cannot hide a bad one. Not a
        # weight of the model (never checkpointed).
        self._bijector_holder["step_finite"] = tf.Variable(
            True, trainable=False, name="last_step_finite",
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.nll_tracker = keras.metrics.Mean(name="nll")
        self.bits_tracker = keras.metrics.Mean(name="bits_per_dim") if self.levels else None
        self.build((None, *event_shape))

    # ---------------------------------------------------------------- construction

    def _coupling(self, name, mask, conditioner):
        self.conditioners.append(conditioner)
        bijectors = [AffineCoupling(mask, conditioner, name=name)]
        if self.flow_batch_norm:
            stats = FlowBatchNormStatistics(mask.shape[-1], momentum=self.batch_norm_momentum,
                                            dtype=self.dtype_policy, name=f"{name}_bn_stats")
            self.batch_norm_statistics.append(stats)
            bijectors.append(BatchNorm(stats, event_ndims=mask.ndim, name=f"{name}_bn"))
        return bijectors

    def _resnet(self, name, channels, filters):
        return ResNetConditioner(channels, filters, self.num_res_blocks, l2=self.l2,
                                 momentum=self.net_batch_norm_momentum, dropout=self.dropout,
                                 dtype=self.dtype_policy, name=f"{name}_net")

    def _image_steps(self, scale=0, shape=None):
        """The bijectors of scale `scale` onwards, in application order, on `[H, W, C]` `shape`."""
        height, width, channels = shape or self.event_shape
        filters = self.num_filters * 2 ** scale
        last = scale == self.num_scales - 1
        steps = []
        for k in range(self.final_couplings if last else self.checkerboard_couplings):
            name = f"s{scale}_checker{k}"
            mask = masks.checkerboard(height, width, channels, parity=k % 2)
            steps += self._coupling(name, mask, self._resnet(name, channels, filters))
        if last:
            return steps
        steps.append(Squeeze(event_shape=(height, width, channels), name=f"s{scale}_squeeze"))
        height, width, channels = height // 2, width // 2, 4 * channels
        if self.widen_after_squeeze:
            filters *= 2
        for k in range(self.channel_couplings):
            name = f"s{scale}_channel{k}"
            mask = masks.channel_halves(height, width, channels, parity=k % 2)
            steps += self._coupling(name, mask, self._resnet(name, channels, filters))
        inner = self._image_steps(scale + 1, (height, width, channels // 2))
        steps.append(FactorOut(FlowChain(inner, name=f"scale{scale + 1}"),
                               name=f"s{scale}_factor_out"))
        steps.append(Unsqueeze(name=f"s{scale}_unsqueeze"))
        return steps

    def _vector_steps(self):
        (dim,) = self.event_shape
        steps = []
        coupling_masks = masks.vector_masks(self.mask, dim, self.num_couplings, self.mask_seed)
        for k, mask in enumerate(coupling_masks):
            name = f"coupling{k}"
            conditioner = MLPConditioner(dim, self.hidden_units, self.hidden_layers, l2=self.l2,
                                         mask=mask if self.compact_conditioner else None,
                                         dtype=self.dtype_policy, name=f"{name}_net")
            steps += self._coupling(name, mask, conditioner)
            if self.permute and k < self.num_couplings - 1:
                # seeds [mask_seed, 1, k]: a stream apart from the random masks' [mask_seed, 0, j]
                steps.append(Permute.random(dim, seed=[self.mask_seed, 1, k],
                                            name=f"permute{k}"))
        return steps

    def build(self, input_shape):
        # The bijectors built every conditioner when they borrowed it; nothing is left to create.
        super().build(input_shape)

    # ---------------------------------------------------------------- the density

    @property
    def flow(self):
        """The bijector `f: x -> z`, a `tfnvp.bijectors.FlowChain` (`flow.steps` in order)."""
        return self._bijector_holder["flow"]

    @property
    def flow_dtype(self):
        """dtype of the flow arithmetic: the variable dtype (float32 under mixed precision)."""
        return tf.as_dtype(self.dtype_policy.variable_dtype)

    @property
    def num_dims(self):
        return int(np.prod(self.event_shape))

    @property
    def prior(self):
        """Standard normal over the event shape, `tfd.Sample(Normal(0, 1), event_shape)`."""
        zero = tf.zeros([], self.flow_dtype)
        return tfd.Sample(tfd.Normal(zero, zero + 1.0), sample_shape=self.event_shape,
                          name="prior")

    @property
    def distribution(self):
        """`p_X` as a `tfd.TransformedDistribution`: prior pushed through `f^{-1}`.

        Its `trainable_variables` are the model's (as `tf.Variable`s). Pass
        `bijector_kwargs={"training": True}` to `log_prob` for a training pass."""
        return tfd.TransformedDistribution(self.prior, tfb.Invert(self.flow), name="RealNVP")

    def check_input(self, x, name="x"):
        """`x` as a tensor of the flow dtype, after checking it is `[..., *event_shape]` (any
        leading batch shape, `[]` for one example, as TFP's distributions take)."""
        x = tf.convert_to_tensor(x, dtype_hint=self.flow_dtype)
        if not (x.dtype.is_floating or x.dtype.is_integer):
            raise TypeError(f"{name} must be numeric, got dtype {x.dtype.name}.")
        x = tf.cast(x, self.flow_dtype)
        rank = len(self.event_shape)
        known_rank = x.shape.rank is not None and x.shape.rank >= rank
        event = tuple(x.shape[-rank:]) if known_rank else None
        if event is None or any(d is not None and d != e
                                for d, e in zip(event, self.event_shape)):
            raise ValueError(f"{name} has shape {tuple(x.shape)}; expected [..., "
                             f"{', '.join(map(str, self.event_shape))}] (any batch shape, then "
                             f"the event shape {self.event_shape}).")
        return x

    def forward_and_log_det(self, x, training=False):
        """`(z, log|det df/dx|)` for `x` `[..., *event]`: z shaped like `x`, log-det `[...]`."""
        return self.flow.forward_and_log_det(x, training=training)

    def log_prob(self, x, training=False):
        """Exact log-density of `x` `[..., *event]` (raw units) -> `[...]` nats.

        The same density as `self.distribution`. A discrete model's support is the logit map's
        domain, `(-a L, (1-a) L) / (1-2a)` per entry (`support`), slightly wider than the data's
        `[0, L)`: outside it the density is 0 (`-inf`), never NaN."""
        x = self.check_input(x)
        z, log_det = self.forward_and_log_det(x, training=training)
        return self.prior.log_prob(z) + log_det

    @property
    def support(self):
        """`(low, high)` per entry: the open interval the density covers (None, None) for
        continuous models; `(-a L, (1-a) L) / (1-2a)` for discrete ones."""
        if self.levels is None:
            return None, None
        return self.flow.steps[0].support()

    def bits_per_dim(self, x):
        """Bits per dimension of `x` `[B, *event]` -> `[B]` (for discrete data)."""
        return bits_per_dim(self.log_prob(x), self.num_dims)

    def call(self, inputs, training=None):
        return self.log_prob(inputs, training=bool(training))

    def encode(self, x, per_scale=False):
        """`x -> z = f(x)` shaped like `x`; `per_scale=True` returns the list of scale parts."""
        z, _ = self.forward_and_log_det(self.check_input(x))
        return self.split_latents(z) if per_scale else z

    def decode(self, z):
        """`z -> x = f^{-1}(z)`; `z` shaped like `x` or a list of per-scale parts."""
        if isinstance(z, (list, tuple)):
            z = self.merge_latents(z)
        x, _ = self.flow.inverse_and_log_det(self.check_input(z, name="z"))
        return x

    def split_latents(self, z):
        """`z` `[B, H, W, C]` -> per-scale parts, finest first (vectors: `[z]`)."""
        if not self.is_image:
            return [z]
        return split_latents(z, self.num_scales, self._squeeze)

    def merge_latents(self, parts):
        """Per-scale parts (as `split_latents` returns them) -> `z` shaped like `x`."""
        if not self.is_image:
            (z,) = parts
            return z
        return merge_latents([tf.cast(p, self.flow_dtype) for p in parts], self._squeeze)

    def sample(self, num_samples, temperature=1.0, seed=None):
        """`num_samples` draws `x = f^{-1}(z)`, `z ~ N(0, temperature^2 I)`; `temperature` may
        be a list, one per scale (finest first, as `encode(x, per_scale=True)`)."""
        shape = (int(num_samples), *self.event_shape)
        if seed is None:
            z = tf.random.normal(shape, dtype=self.flow_dtype)
        else:
            z = tf.random.stateless_normal(shape, seed=stateless_seed(seed), dtype=self.flow_dtype)
        if not tf.is_tensor(temperature):  # tf.cast of a Python float goes through float32
            temperature = latent_temperature(self, temperature)
        return self.decode(z * tf.cast(temperature, self.flow_dtype))

    def complete(self, x, observed, method="map", **options):
        """Fill the entries of `x` where `observed` is False: `tfnvp.complete(self, ...)`
        (methods "map", "sample", "mean"; `steps`, `samples`, `seed`, `batch_size`)."""
        return complete(self, x, observed, method, **options)

    def resample(self, x, scales=(), temperature=1.0, seed=None):
        """`x` with the latent parts of `scales` redrawn (0 = finest), the others kept:
        `tfnvp.resample(self, ...)`."""
        return resample(self, x, scales, temperature=temperature, seed=seed)

    # ---------------------------------------------------------------- training (fit/evaluate)

    def regularization_loss(self):
        """Sum of the L2 penalties on the scale parameters (a scalar)."""
        losses = self.losses
        return tf.add_n(losses) if losses else tf.zeros([], self.flow_dtype)

    def compute_nll_and_loss(self, x, training):
        """Per-example NLL `[B]` (nats) and the scalar objective `mean(NLL) + L2`."""
        nll = -self.log_prob(x, training=training)
        return nll, tf.reduce_mean(nll) + tf.cast(self.regularization_loss(), nll.dtype)

    def train_step(self, data):
        """One update on a batch: `fit`'s step, and the custom loop's (`tfnvp_training.loop`).

        Under `tf.distribute` each replica sees `B / N` examples of the global batch and the
        optimizer sums the replicas' gradients, so each replica minimises its share `loss / N`
        of the global objective (the flow's batch norms use global-batch statistics)."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        context = tf.distribute.get_replica_context()  # None in a cross-replica context
        replicas = context.num_replicas_in_sync if context is not None else 1
        with tf.GradientTape() as tape:
            nll, loss = self.compute_nll_and_loss(x, training=True)
            # loss scaling under mixed_float16 (the identity otherwise)
            scaled = self.optimizer.scale_loss(loss / replicas if replicas > 1 else loss)
        variables = self.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply(gradients, variables)
        finite = [tf.reduce_all(tf.math.is_finite(v)) for v in variables]
        flag = self._bijector_holder["step_finite"]
        flag.assign(tf.logical_and(flag, tf.reduce_all(tf.stack([tf.math.is_finite(loss),
                                                                 *finite]))))
        return self._update_metrics(nll, loss)

    def steps_were_finite(self):
        """True when every `train_step` since the previous call left its loss and every
        trainable weight finite (one boolean read from the device); starts the next check."""
        flag = self._bijector_holder["step_finite"]
        finite = bool(flag.numpy())
        if not finite:
            flag.assign(True)
        return finite

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        nll, loss = self.compute_nll_and_loss(x, training=False)
        return self._update_metrics(nll, loss)

    def _update_metrics(self, nll, loss):
        # Weighted by the batch size, the epoch's loss is a mean per example as the nll is
        # (a mean of batch means would overweight a small last batch), and sums over replicas.
        self.loss_tracker.update_state(loss, sample_weight=tf.cast(tf.size(nll), loss.dtype))
        self.nll_tracker.update_state(nll)
        if self.bits_tracker is not None:
            self.bits_tracker.update_state(bits_per_dim(-nll, self.num_dims))
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        trackers = (self.loss_tracker, self.nll_tracker, self.bits_tracker)
        return [m for m in trackers if m is not None]

    # ---------------------------------------------------------------- export and Keras plumbing

    def summary(self, print_fn=None, **kwargs):
        """Prints the flow step by step (kind, mask, event shapes, parameters), the event shape,
        levels, scales and the latent's per-scale shapes. Keras's layer-by-layer summary
        (conditioner layers with output shape `?`) is `keras.Model.summary(model)`."""
        from tfnvp.summary import flow_summary
        for line in flow_summary(self):
            (print_fn or print)(line)

    def export(self, path, version=None):
        """SavedModel for TensorFlow Serving at `path/<version>/` (signatures: see
        `tfnvp.export`); returns that folder. Overrides `keras.Model.export` on purpose: ours
        writes the flow's named signatures in both directions."""
        from tfnvp.export import export_saved_model
        return export_saved_model(self, path, version=version)

    def get_config(self):
        config = {**super().get_config(), "event_shape": list(self.event_shape),
                  "levels": self.levels, "flow_batch_norm": self.flow_batch_norm,
                  "batch_norm_momentum": self.batch_norm_momentum, "alpha": self.alpha,
                  "l2": self.l2}
        if self.is_image:
            config.update(num_scales=self.num_scales,
                          checkerboard_couplings=self.checkerboard_couplings,
                          channel_couplings=self.channel_couplings,
                          final_couplings=self.final_couplings,
                          num_res_blocks=self.num_res_blocks, num_filters=self.num_filters,
                          widen_after_squeeze=self.widen_after_squeeze,
                          net_batch_norm_momentum=self.net_batch_norm_momentum,
                          dropout=self.dropout)
        else:
            config.update(num_couplings=self.num_couplings, hidden_units=self.hidden_units,
                          hidden_layers=self.hidden_layers, mask=self.mask, permute=self.permute,
                          mask_seed=self.mask_seed, compact_conditioner=self.compact_conditioner)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if len(config["event_shape"]) == 1:  # a vector flow saved before these keys existed
            config = {**LEGACY_VECTOR_CONFIG, **config}
        elif len(config["event_shape"]) == 3:  # an image flow saved before the key existed
            config = {**LEGACY_IMAGE_CONFIG, **config}
        trainable = config.pop("trainable", True)  # not a constructor argument
        model = cls(**config)
        model.trainable = trainable
        return model


def _check_event_shape(event_shape):
    try:
        shape = tuple(int(d) for d in event_shape)
    except (TypeError, ValueError):
        raise ValueError(f"event_shape must be (H, W, C) or (D,), got {event_shape!r}.") from None
    if len(shape) not in (1, 3) or any(d < 1 for d in shape):
        raise ValueError(f"event_shape must be (H, W, C) for images or (D,) for vectors with "
                         f"positive sizes, got {event_shape!r}.")
    return shape


def _check_count(name, value, minimum=1):
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_scales(num_scales, event_shape):
    """Each squeeze needs an even height and width, and the last scale's checkerboard couplings
    need at least two pixels to split."""
    height, width, _ = event_shape
    factor = 2 ** (num_scales - 1)
    if height % factor or width % factor:
        raise ValueError(f"`num_scales` {num_scales} squeezes {num_scales - 1} time(s), which "
                         f"needs height and width divisible by {factor}; got an image of shape "
                         f"{event_shape}.")
    if (height // factor) * (width // factor) < 2:
        most = 1
        while (height % 2 ** most == 0 and width % 2 ** most == 0
               and (height // 2 ** most) * (width // 2 ** most) >= 2):
            most += 1
        raise ValueError(f"`num_scales` {num_scales} squeezes an image of shape {event_shape} down "
                         f"to {height // factor}x{width // factor} pixels, too few for the last "
                         f"scale's checkerboard couplings; expected `num_scales` <= {most}.")
