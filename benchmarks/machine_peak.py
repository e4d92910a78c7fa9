"""The machine's float32 matmul peak, measured beside every benchmark.

Benchmarks report a model's achieved GFLOP/s as a fraction of this figure,
measured in the same run, since shared machines differ from run to run.
"""

import time

import tensorflow as tf


def matmul_gflops(size=2048, repeats=10, rounds=3):
    """The machine's float32 matmul GFLOP/s: the best of `rounds` rounds.

    Args:
        size: int. The side of the square matrices multiplied.
        repeats: int. Matmuls timed together in one round.
        rounds: int. Rounds; the fastest counts.

    Returns:
        GFLOP/s, a float.
    """
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    run = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    run()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            run().numpy()
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * size**3 / best / 1e9
