"""Vector-flow runners measured side by side on `benchmarks.real_data` sets.

Each runner trains on a set's `train` split, keeps the epoch with the best validation loss,
restores it and reports a result dict:

    peer, run, seed, test_nll (nats per example, mean), best_epoch (1-based), epochs_run,
    train_nll [epochs], validation_nll [epochs] (per-epoch curves), train_examples_per_s
    (training steps only: validation and the first epoch excluded), seconds (wall time),
    batch_size, error (None, or why the run failed)
"""

__all__ = ["PROTOCOL", "batch_size_for", "examples_per_s"]

# The peer protocol: zuko's RealNVP at these settings, best of 60 epochs on validation.
PROTOCOL = {"couplings": 8, "hidden_units": 256, "hidden_layers": 2, "lr": 1e-3,
            "batch_size": 256, "epochs": 60}
MIN_STEPS_PER_EPOCH = 4


def batch_size_for(num_train, batch_size):
    """`batch_size`, or a quarter of the training set if that is smaller: the scikit-learn tables
    (125 to 398 training rows) would otherwise have one step per epoch, or none."""
    return max(1, min(int(batch_size), num_train // MIN_STEPS_PER_EPOCH))


def examples_per_s(examples_per_epoch, epoch_seconds):
    """Training rate over the epochs after the first (which traces and warms up), if any."""
    timed = epoch_seconds[1:] or epoch_seconds
    return examples_per_epoch * len(timed) / max(sum(timed), 1e-9)
