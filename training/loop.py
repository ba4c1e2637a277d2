"""A training loop written out, on `fit`'s own step: for `tf.distribute` strategies Keras 3 `fit`
cannot drive (MultiWorkerMirroredStrategy: keras-team/keras#20585), and for users who want the loop.

Each step is `model.train_step(batch)`, the step `fit` runs, called through `strategy.run` (the
global batch split over the replicas); the same Keras callbacks see the same hooks in the same
order as under `fit` (`on_epoch_begin`, `on_train_batch_begin/end`, `on_epoch_end` with
`val_*` logs), so checkpoints, early stopping, NaN recovery and logs behave alike. Validation is
`model.test_step` on every replica (or `evaluate_logs` without a strategy): the per-example mean
loss and NLL over the split, as `fit` reports them.
"""
import keras
import tensorflow as tf

__all__ = ["CustomTrainer"]


class CustomTrainer:
    """Trains a compiled `tfnvp.RealNVP` (`model.compile(optimizer)` first) under `strategy`.

    Args:
      model: the flow, built and compiled inside `strategy.scope()`.
      strategy: a `tf.distribute` strategy (None: the default, one device).
      jit_compile: compile the per-replica steps with XLA.
    """

    def __init__(self, model, strategy=None, jit_compile=False):
        self.model = model
        self.strategy = strategy or tf.distribute.get_strategy()
        if not model.optimizer.built:  # as `fit` does: slots must exist before the first step
            with self.strategy.scope():
                model.optimizer.build(model.trainable_variables)
        train_step = tf.function(model.train_step, jit_compile=jit_compile)
        test_step = tf.function(model.test_step, jit_compile=jit_compile)
        self._train = tf.function(lambda batch: self.strategy.run(train_step, (batch,)))
        self._test = tf.function(lambda batch: self.strategy.run(test_step, (batch,)))

    def _logs(self):
        """The metrics' results as floats (their variables are summed over replicas)."""
        return {m.name: float(m.result()) for m in self.model.metrics}

    def _distributed(self, dataset):
        return self.strategy.experimental_distribute_dataset(dataset)

    def evaluate(self, dataset):
        """Mean per-example loss and NLL (and bits/dim) over `dataset`, in evaluation mode."""
        self.model.reset_metrics()
        for batch in self._distributed(dataset):
            self._test(batch)
        return self._logs()

    def fit(self, dataset, epochs, *, steps_per_epoch=None, initial_epoch=0,
            validation_data=None, callbacks=(), verbose=0):
        """`fit`'s contract: epochs `initial_epoch..epochs-1` of `steps_per_epoch` batches
        (None: one pass over `dataset` per epoch), then validation; returns the History."""
        model = self.model
        callback_list = keras.callbacks.CallbackList(
            list(callbacks), add_history=True, add_progbar=verbose != 0, model=model,
            verbose=verbose, epochs=epochs, steps=steps_per_epoch)
        model.stop_training = False
        callback_list.on_train_begin()
        batches = iter(self._distributed(dataset)) if steps_per_epoch else None
        logs = {}
        for epoch in range(initial_epoch, epochs):
            model.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            epoch_batches = batches if batches is not None else iter(self._distributed(dataset))
            step = 0
            while steps_per_epoch is None or step < steps_per_epoch:
                batch = next(epoch_batches, None)
                if batch is None:
                    break
                callback_list.on_train_batch_begin(step)
                self._train(batch)
                logs = self._logs()
                callback_list.on_train_batch_end(step, logs)
                step += 1
                if model.stop_training:
                    break
            if step == 0:
                raise ValueError("the training dataset yielded no batches.")
            epoch_logs = dict(logs)
            if validation_data is not None:  # as `fit`: also when stopping after this epoch
                epoch_logs.update({f"val_{k}": v for k, v in
                                   self.evaluate(validation_data).items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if model.stop_training:
                break
        callback_list.on_train_end(logs)
        return next(c for c in callback_list.callbacks if isinstance(c, keras.callbacks.History))
