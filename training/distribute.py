"""Which `tf.distribute` strategy a run uses, and which process of a cluster writes its folder.

    off           the default strategy: one device
    mirrored      MirroredStrategy: every local GPU (or the logical devices configured), one host
    multi-worker  MultiWorkerMirroredStrategy: the cluster `TF_CONFIG` describes (as TensorFlow
                  defines it: {"cluster": {"worker": [...]}, "task": {"type", "index"}})
    auto          multi-worker when `TF_CONFIG` names more than one worker, mirrored when more
                  than one GPU is visible, otherwise off

The global batch is the run's `batch_size`, split evenly over the replicas (it must divide).
Only the chief (worker 0) writes the run folder; the other workers write their checkpoints into
a temporary folder they delete (TensorFlow's collectives need every worker to save).
"""
import json
import os

from tfnvp_training.errors import TrainingStopped

__all__ = ["DISTRIBUTE_CHOICES", "WorkerLost", "is_chief", "make_strategy", "uses_custom_loop"]

DISTRIBUTE_CHOICES = ("auto", "off", "mirrored", "multi-worker")


class WorkerLost(TrainingStopped):
    """A worker of the cluster stopped answering (its collectives were aborted): this one stops
    too. Exit status 75 (EX_TEMPFAIL): restart every worker with `--auto-resume` and the run
    continues from its last checkpoint."""

    exit_status = 75


def _cluster_workers():
    """Number of workers in `TF_CONFIG` (0 when it is unset or has no cluster)."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e}); expected TensorFlow's format "
                         f'{{"cluster": {{"worker": ["host:port", ...]}}, "task": '
                         f'{{"type": "worker", "index": 0}}}}.') from None
    cluster = config.get("cluster") or {}
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def make_strategy(kind="auto"):
    """The strategy for `--distribute kind`. Create it before any other TensorFlow work (the
    multi-worker strategy starts the cluster's servers)."""
    if kind not in DISTRIBUTE_CHOICES:
        raise ValueError(f"`distribute` must be one of {', '.join(DISTRIBUTE_CHOICES)}, got "
                         f"{kind!r}.")
    import tensorflow as tf
    if kind == "auto":
        if _cluster_workers() > 1:
            kind = "multi-worker"
        elif len(tf.config.list_physical_devices("GPU")) > 1:
            kind = "mirrored"
        else:
            kind = "off"
    if kind == "off":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if _cluster_workers() < 1:
        raise ValueError("`distribute` multi-worker needs TF_CONFIG describing the cluster "
                         '(e.g. {"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
                         '"task": {"type": "worker", "index": 0}}, one per worker).')
    return tf.distribute.MultiWorkerMirroredStrategy()


def uses_custom_loop(strategy):
    """Keras 3 `fit` cannot run under MultiWorkerMirroredStrategy (keras-team/keras#20585,
    tensorflow/tensorflow#72388: its PerReplica batches fail to convert); our loop can."""
    import tensorflow as tf
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy):
    """True for the process that writes the run folder: worker 0 (or "chief") of a cluster, and
    the only process otherwise."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    if "chief" in resolver.cluster_spec().as_dict():
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0
