"""The `tf.Variable`s behind Keras 3 variables: what `tf.Module`, TFP and SavedModel can see.

Keras 3 variables are not `tf.Variable`s, so `tf.Module` tracking (a TFP distribution's
`trainable_variables`, `tf.saved_model.save` of a plain module) does not find them. With the
TensorFlow backend each one holds a `tf.Variable`, public as `variable.value` (outside an autocast
scope, which these helpers are never called in).
"""
import keras

__all__ = ["tf_variable", "tf_variables"]


def tf_variable(variable):
    """The `tf.Variable` behind a Keras 3 variable (a `tf.Variable` is returned as it is)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


def tf_variables(layer):
    """`tf.Variable`s of every weight of a built Keras `layer`, trainable or not, in order."""
    if not layer.built:
        raise ValueError(f"layer {layer.name!r} is not built: its variables do not exist yet "
                         f"(call it once, or build it, before a bijector borrows it).")
    return tuple(tf_variable(w) for w in layer.weights)
