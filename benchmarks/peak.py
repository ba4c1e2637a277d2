"""The machine's measured matrix-multiply peak: the yardstick for achieved GFLOP/s.

    peak = 2 n^3 / t(tf.matmul of two n x n matrices)     best of `repeats`, after a warm-up
"""
import time

import tensorflow as tf

__all__ = ["matmul_peak_gflops"]


def matmul_peak_gflops(dtype="float32", n=2048, repeats=10):
    """GFLOP/s of an `n x n` @ `n x n` tf.matmul in `dtype` (best of `repeats` timed runs)."""
    a = tf.random.normal((n, n), dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
    matmul = tf.function(lambda a, b: tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1, :1], tf.float32)))
    matmul(a, b).numpy()  # warm-up and trace
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2.0 * n ** 3 / best / 1e9
