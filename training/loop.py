"""A plain custom training loop, for users who do not use `fit` (and the path to tf.distribute).

Each step minimises the model's one objective, `model.compute_nll_and_loss(x, training=True)`
(`mean NLL + L2`), with the optimizer's own update (gradient clipping, when wanted, is the
optimizer's `global_clipnorm`, exactly as under `fit`). The per-epoch loss is the mean of the
per-batch losses, as Keras reports it, so on the same batches and initial weights the loop and
`fit` give the same numbers.
"""
import keras
import tensorflow as tf

__all__ = ["CustomTrainer", "train"]

class CustomTrainer:
    """Trains `model` (a `tfnvp.RealNVP`) with `optimizer` in a `tf.function` step.

    Args:
      model: the flow.
      optimizer: a Keras 3 optimizer (e.g. `keras.optimizers.Adam(1e-3, global_clipnorm=1.0)`).
      jit_compile: compile the steps with XLA.
    """

    def __init__(self, model, optimizer, *, jit_compile=False):
        self.model = model
        self.optimizer = optimizer
        self.train_step = tf.function(self._train_step, jit_compile=jit_compile)
        self.test_step = tf.function(self._test_step, jit_compile=jit_compile)

    def _train_step(self, x):
        """One update on a batch `x` `[B, *event]` -> (loss scalar, nll `[B]`)."""
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            nll, loss = self.model.compute_nll_and_loss(x, training=True)
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply(gradients, variables)
        return loss, nll

    def _test_step(self, x):
        nll, loss = self.model.compute_nll_and_loss(x, training=False)
        return loss, nll

    def run_epoch(self, dataset, training=True):
        """Mean batch loss and mean per-example NLL over `dataset` (floats)."""
        step = self.train_step if training else self.test_step
        loss_sum, nll_sum, batches, examples = 0.0, 0.0, 0, 0
        for batch in dataset:
            x, _, _ = keras.utils.unpack_x_y_sample_weight(batch)
            loss, nll = step(x)
            loss_sum += float(loss)
            nll_sum += float(tf.reduce_sum(tf.cast(nll, tf.float64)))
            batches += 1
            examples += int(nll.shape[0])
        if batches == 0:
            raise ValueError("the dataset yielded no batches.")
        return {"loss": loss_sum / batches, "nll": nll_sum / examples}

    def fit(self, dataset, epochs, validation_data=None, verbose=False):
        """`epochs` passes over `dataset`; returns a history `{"loss": [...], "nll": [...],
        "val_loss": [...], "val_nll": [...]}` (validation keys only with `validation_data`)."""
        history = {}
        for epoch in range(int(epochs)):
            logs = self.run_epoch(dataset, training=True)
            if validation_data is not None:
                val = self.run_epoch(validation_data, training=False)
                logs.update({f"val_{k}": v for k, v in val.items()})
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if verbose:
                print(f"epoch {epoch + 1}/{epochs}: " +
                      " ".join(f"{k}={v:.4f}" for k, v in logs.items()))
        return history


def train(model, optimizer, dataset, epochs, *, validation_data=None, jit_compile=False,
          verbose=False):
    """Function form of `CustomTrainer(model, optimizer, jit_compile=...).fit(...)`."""
    trainer = CustomTrainer(model, optimizer, jit_compile=jit_compile)
    return trainer.fit(dataset, epochs, validation_data=validation_data, verbose=verbose)
