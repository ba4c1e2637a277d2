"""`python -m benchmarks.replicas [--out FILE]`: training throughput on 1 and 2 replicas.

MirroredStrategy over 2 logical devices against one device, the same global batch, `fit`'s step
(the vector case: 16-D, 8 couplings, MLP 2x256, batch 256; the digits demo model, batch 64).
Logical devices must be configured before TensorFlow initialises, so this runs in a process of
its own. On a CPU the 2 "devices" share the same cores: the figure shows what synchronising the
gradients and the global batch statistics costs, not a speed-up. On a machine with 2 GPUs,
`--devices gpu` measures the GPUs (MirroredStrategy over both).
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402


def _configure(kind):
    if kind == "cpu":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu,
                                                   [tf.config.LogicalDeviceConfiguration()] * 2)
        return ["/cpu:0", "/cpu:1"]
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) < 2:
        raise SystemExit(f"--devices gpu needs 2 GPUs, found {len(gpus)}")
    return ["/gpu:0", "/gpu:1"]


def _throughput(build, data, batch, strategy, steps, warmup):
    import keras
    with strategy.scope():
        model = build()
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    stream = tf.data.Dataset.from_tensors(data).repeat()
    model.fit(stream, steps_per_epoch=warmup, epochs=1, verbose=0, shuffle=False)  # warm up
    start = time.perf_counter()
    model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps * batch / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args(argv)
    devices = _configure(args.devices)
    import numpy as np

    import tfnvp
    from benchmarks.cases import vector_data
    cases = {
        "vector 16-D, 8 couplings, MLP 2x256, batch 256": (
            lambda: tfnvp.RealNVP((16,), num_couplings=8, hidden_units=256),
            tf.constant(vector_data(256), tf.float32), 256),
        "digits 8x8x1 (the demo model), batch 64": (
            lambda: tfnvp.RealNVP((8, 8, 1), levels=17, num_scales=2, num_res_blocks=2,
                                  num_filters=32),
            tf.constant(np.random.default_rng(0).integers(0, 17, (64, 8, 8, 1)) + 0.5,
                        tf.float32), 64),
    }
    rows = []
    mirrored = tf.distribute.MirroredStrategy(devices)  # one: two would share collective keys
    for name, (build, data, batch) in cases.items():
        one = _throughput(build, data, batch, tf.distribute.get_strategy(), args.steps, 5)
        two = _throughput(build, data, batch, mirrored, args.steps, 5)
        rows.append({"case": name, "devices": args.devices, "one_device_ex_s": one,
                     "two_replicas_ex_s": two, "ratio": two / one})
        print(f"{name:48s} 1 replica {one:9.0f} ex/s   2 replicas {two:9.0f} ex/s   "
              f"x{two / one:.2f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
