"""Completion (inpainting, conditional inference): fill the unknown entries of `x` from the
model, the known ones held fixed. `observed` (boolean, shaped like `x`; True = known) picks them.

The unknowns move in unconstrained coordinates `y`, which keep them inside the data's range:

    discrete (levels L):  x_u = L sigmoid(y)  in (0, L),
                          log|dx_u/dy| = log L - softplus(-y) - softplus(y)
    continuous:           x_u = y,  log|dx_u/dy| = 0

With `x(y)` equal to the known values on the observed entries and to `x_u(y)` elsewhere:

    map     Adam ascent on log p(x(y)) from the unknowns of f^{-1}(0), the image of the prior's
            mode: a mode of p(x_u | x_o). A high-density guess, not a faithful one: it can sit
            far from the hidden truth, no closer on average than the training mean.
    sample  Hamiltonian Monte Carlo chains (`tfp.mcmc`, `LEAPFROG_STEPS` leapfrog steps each)
            on  log p(x(y)) + sum_u log|dx_u/dy|   (the change of variables),
            so their states follow p(x_u | x_o); `samples` chains per input, each started at an
            unconditional sample, with its own step size adapted over the first half of `steps`
            (the burn-in). Returns each chain's last state: `[N, samples, *event]`.
    mean    the average of the chains' states over the second half of `steps`, all chains of an
            input together: an estimate of E[x_u | x_o], the best guess under squared error.

Observed entries come back bit-identical to `x` cast to the model's `flow_dtype`.
"""
import weakref

import tensorflow as tf
import tensorflow_probability as tfp

from tfnvp.seeds import split_seed, stateless_seed

__all__ = ["DEFAULT_STEPS", "METHODS", "complete"]

METHODS = ("map", "sample", "mean")
DEFAULT_STEPS = {"map": 300, "sample": 200, "mean": 200}
LEARNING_RATE = 0.05  # Adam, in logit units (data logits span about [-3, 3])
# On the digits model (bottom half hidden, 600 gradients per chain), 3 to 6 leapfrog steps per
# transition left the mean of the draws about 10% closer to the truth than 1 step (MALA).
LEAPFROG_STEPS = 4
INITIAL_STEP_SIZE = 0.1  # leapfrog step in y; adapted per chain
ADAPTATION_RATE = 0.05  # per burn-in step: x or / (1 + rate) towards the target acceptance
TARGET_ACCEPTANCE = 0.65  # a usual target for HMC
START_TEMPERATURE = 0.8  # chains start at unconditional samples f^{-1}(T eps)


def complete(model, x, observed, method="map", *, steps=None, samples=8, seed=None,
             batch_size=None):
    """Fill the entries of `x` `[N, *event]` where `observed` is False (see the module).

    Args:
      method: "map", "sample" or "mean".
      steps: Adam steps (map) or HMC transitions per chain, the first half burn-in (sample,
        mean; each costs `LEAPFROG_STEPS` gradients); default `DEFAULT_STEPS[method]`. 0 returns
        the starting point (map).
      samples: chains per input (sample, mean).
      seed: int or pair for reproducible chains (sample, mean); None draws fresh ones. `map` is
        deterministic.
      batch_size: inputs per pass (memory: `batch_size * samples` chains); None = all at once.
        The draws depend on it: the same `seed` and `batch_size` give the same draws.

    Returns:
      `[N, *event]` (map, mean) or `[N, samples, *event]` (sample), dtype `model.flow_dtype`.
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {', '.join(METHODS)}, got {method!r}.")
    steps = DEFAULT_STEPS[method] if steps is None else _check_int(
        "steps", steps, minimum=0 if method == "map" else 1)
    samples = _check_int("samples", samples, minimum=1)
    x = model.check_input(x)
    if x.shape.rank != len(model.event_shape) + 1:
        raise ValueError(f"`x` has shape {tuple(x.shape)}; expected [N, "
                         f"{', '.join(map(str, model.event_shape))}] (one batch axis).")
    observed = _check_observed(model, x, observed)
    count = int(x.shape[0])
    batch_size = count if batch_size is None else _check_int("batch_size", batch_size, 1)
    batch_size = min(batch_size, count)
    chains = 1 if method == "map" else samples
    passes = _passes(model)
    seeds = split_seed(seed, (count + batch_size - 1) // batch_size)
    results = []
    for index, begin in enumerate(range(0, count, batch_size)):
        rows = tf.range(begin, begin + batch_size) % count  # the last chunk is padded
        x_known = tf.repeat(tf.gather(x, rows), chains, axis=0)
        known = tf.repeat(tf.gather(observed, rows), chains, axis=0)
        if method == "map":
            filled = passes.map(x_known, known, tf.constant(steps))
        else:
            last, average = passes.chains(x_known, known, seeds[index], tf.constant(steps))
            filled = last if method == "sample" else average
        filled = tf.where(known, x_known, filled)
        results.append(filled[:(min(begin + batch_size, count) - begin) * chains])
    filled = tf.concat(results, axis=0)
    if method == "sample":
        return tf.reshape(filled, [count, samples, *model.event_shape])
    if method == "mean":
        return tf.reduce_mean(tf.reshape(filled, [count, samples, *model.event_shape]), axis=1)
    return filled


_PASSES = weakref.WeakKeyDictionary()  # model -> its traced passes, reused by every call


def _passes(model):
    if model not in _PASSES:
        _PASSES[model] = _Passes(weakref.ref(model))
    return _PASSES[model]


class _Passes:
    """A model's two loops as `tf.function`s, traced once per input shape: `map(x_known, known,
    steps)` -> x, and `chains(x_known, known, seed, steps)` -> (last x, average x over the second
    half). They hold the model weakly, so the cache does not keep it alive."""

    def __init__(self, model_ref):
        self._model = model_ref
        # Not XLA: compiling a loop took 6x longer than running it (300 map steps, digits).
        self.map = tf.function(self._map, autograph=False)
        self.chains = tf.function(self._chains, autograph=False)

    def _map(self, x_known, known, steps):
        model = self._model()
        coordinates = _Coordinates(model)
        start = coordinates.to_y(model.decode(tf.zeros_like(x_known)))
        y = _ascend(lambda y: model.log_prob(tf.where(known, x_known, coordinates.to_x(y))),
                    start, steps)
        return coordinates.to_x(y)

    def _chains(self, x_known, known, seed, steps):
        model = self._model()
        coordinates = _Coordinates(model)

        def target(y):
            """log p(x(y)) + sum_u log|dx_u/dy|: `[chains]`."""
            x_all = tf.where(known, x_known, coordinates.to_x(y))
            # -y^2/2 on the known entries makes their (unused) coordinates a proper N(0, 1).
            log_p = model.log_prob(x_all) + _sum_event(
                model, tf.where(known, -0.5 * tf.square(y), coordinates.log_jacobian(y)))
            return tf.where(tf.math.is_finite(log_p), log_p,
                            tf.constant(-float("inf"), log_p.dtype))

        init_seed, chain_seed = tf.unstack(split_seed(seed, 2))
        start = coordinates.to_y(model.sample(x_known.shape[0], START_TEMPERATURE,
                                              seed=init_seed))
        last, total = _hmc_chains(target, coordinates.to_x,
                                  tf.where(known, tf.zeros_like(start), start), steps,
                                  chain_seed)
        kept = tf.cast(steps - steps // 2, total.dtype)
        return coordinates.to_x(last), total / kept


class _Coordinates:
    """`x_u <-> y`: `x = L sigmoid(y)` for discrete models (the unknowns stay in (0, L)),
    the identity for continuous ones."""

    EDGE = 1e-3  # to_y clips x/L to [EDGE, 1 - EDGE]: starting points on or past the range

    def __init__(self, model):
        self.levels = model.levels

    def to_x(self, y):
        return y if self.levels is None else self.levels * tf.sigmoid(y)

    def to_y(self, x):
        if self.levels is None:
            return x
        p = tf.clip_by_value(x / self.levels, self.EDGE, 1.0 - self.EDGE)
        return tf.math.log(p) - tf.math.log1p(-p)

    def log_jacobian(self, y):
        """log|dx/dy| per entry."""
        if self.levels is None:
            return tf.zeros_like(y)
        return tf.math.log(tf.cast(self.levels, y.dtype)) - tf.nn.softplus(-y) - tf.nn.softplus(y)


def _ascend(objective, start, steps, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam ascent on `objective(y)` (`[B]`, summed), `steps` steps from `start`.

        m <- b1 m + (1-b1) g,   v <- b2 v + (1-b2) g^2,   y <- y + lr m^ / (sqrt(v^) + eps)
    """
    def step(i, y, m, v):
        with tf.GradientTape() as tape:
            tape.watch(y)
            value = tf.reduce_sum(objective(y))
        g = tape.gradient(value, y)
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * tf.square(g)
        t = tf.cast(i + 1, y.dtype)
        m_hat, v_hat = m / (1.0 - beta1 ** t), v / (1.0 - beta2 ** t)
        return i + 1, y + LEARNING_RATE * m_hat / (tf.sqrt(v_hat) + epsilon), m, v

    zeros = tf.zeros_like(start)
    _, y, _, _ = tf.while_loop(lambda i, *_: i < steps, step, (0, start, zeros, zeros))
    return y


def _hmc_chains(target_log_prob, to_x, start, steps, seed):
    """HMC chains from `start` (`[C, ...]`) with per-chain step sizes adapted over the first
    half of `steps`. Returns (last y, sum of `to_x(y)` over the second half)."""
    shape = [-1] + [1] * (start.shape.rank - 1)
    step_size = tf.reshape(tf.fill(tf.shape(start)[:1],
                                   tf.constant(INITIAL_STEP_SIZE, start.dtype)), shape)
    burn_in = steps // 2
    kernel = tfp.mcmc.SimpleStepSizeAdaptation(
        tfp.mcmc.HamiltonianMonteCarlo(target_log_prob, step_size=step_size,
                                       num_leapfrog_steps=LEAPFROG_STEPS),
        num_adaptation_steps=burn_in, target_accept_prob=TARGET_ACCEPTANCE,
        adaptation_rate=ADAPTATION_RATE)
    seed = stateless_seed(seed)

    def step(i, y, results, total):
        # TFP's kernels take int32 stateless seeds.
        step_seed = tf.cast(tf.random.experimental.stateless_fold_in(seed, i), tf.int32)
        y, results = kernel.one_step(y, results, seed=step_seed)
        kept = tf.cast(i >= burn_in, y.dtype)
        return i + 1, y, results, total + kept * to_x(y)

    _, y, _, total = tf.while_loop(
        lambda i, *_: i < steps, step,
        (0, start, kernel.bootstrap_results(start), tf.zeros_like(start)))
    return y, total


def _sum_event(model, values):
    return tf.reduce_sum(values, axis=list(range(-len(model.event_shape), 0)))


def _check_observed(model, x, observed):
    observed = tf.convert_to_tensor(observed)
    if observed.dtype != tf.bool:
        raise ValueError(f"`observed` must be boolean (True = known), got dtype "
                         f"{observed.dtype.name}.")
    if tuple(observed.shape) == tuple(model.event_shape):
        observed = tf.broadcast_to(observed, tf.shape(x))
    if tuple(observed.shape) != tuple(x.shape):
        raise ValueError(f"`observed` has shape {tuple(observed.shape)}; expected the shape of "
                         f"`x` {tuple(x.shape)} or one example's {model.event_shape}.")
    return observed


def _check_int(name, value, minimum):
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)
