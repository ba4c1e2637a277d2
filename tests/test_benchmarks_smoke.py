"""Smoke test of the benchmark harness (benchmarks/): one toy case, one step, the JSON fields.

No timing is asserted (timings depend on the machine): only that each measurement exists, is
positive and is counted the way the harness says (FLOPs of a known Dense layer).
"""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfnvp
from benchmarks.cases import Case, vector_data
from benchmarks.measure import count_flops
from benchmarks.reference import TFPRealNVP
from benchmarks.run import format_table, run_case

FIELDS = ["train_examples_per_s", "log_prob_examples_per_s", "sample_examples_per_s",
          "train_first_call_s", "train_flops_per_example", "train_gflops_per_s",
          "peak_memory_mb"]


def test_count_flops_counts_a_matmul():
    w = tf.ones((3, 5))
    flops = count_flops(tf.function(lambda x: tf.matmul(x, w)), tf.ones((4, 3)))
    assert flops == 2 * 4 * 3 * 5  # one multiply-add = 2 FLOPs


@pytest.mark.parametrize("build", [
    lambda dtype: tfnvp.RealNVP((4,), num_couplings=2, hidden_units=8, flow_batch_norm=False,
                                dtype=dtype),
    lambda dtype: TFPRealNVP(4, num_couplings=2, hidden_units=8, hidden_layers=1, dtype=dtype),
], ids=["tfnvp", "tfp_reference"])
def test_run_case_reports_every_field(build):
    case = Case("toy", build, lambda b: vector_data(b, dim=4), batch=8)
    row = run_case(case, "float32", jit=False, steps=1, warmup=1)
    assert row["case"] == "toy" and row["batch"] == 8 and row["jit"] is False
    for field in FIELDS:
        assert np.isfinite(row[field]) and row[field] > 0, field
    assert row["memory_kind"] in ("cpu_rss_high_water", "gpu_peak")
    json.loads(json.dumps(row))  # the row is JSON-serialisable as written to results.json
    table = format_table([row], {"float32": 100.0})
    assert "toy" in table.splitlines()[-1]


def test_reference_trains_its_keras_weights():
    model = TFPRealNVP(4, num_couplings=2, hidden_units=8, hidden_layers=1)
    assert len(model.trainable_variables) == 2 * 2 * 2  # two Dense layers per coupling
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [v.numpy().copy() for v in model.trainable_variables]
    model.train_step(vector_data(16, dim=4))
    assert any(not np.allclose(b, v.numpy()) for b, v in zip(before, model.trainable_variables))


def test_image_ablation_summary_gives_each_variant_against_the_defaults():
    from benchmarks.image_ablation import VARIANTS, format_table, summarise
    results = [{"set": "digits", "variant": v, "seed": s, "bits_per_dim": b, "best_epoch": 3,
                "seconds": 1.0, "parameters": 10}
               for v, s, b in [("defaults", 0, 2.0), ("defaults", 1, 2.2), ("widen", 0, 1.9),
                               ("widen", 1, float("nan"))]]
    rows = {r["variant"]: r for r in summarise(results)}
    assert rows["defaults"]["mean"] == pytest.approx(2.1)
    assert rows["defaults"]["std"] == pytest.approx(0.1)
    assert rows["widen"]["failed"] == 1 and rows["widen"]["change"] == pytest.approx(-0.2)
    assert VARIANTS["widen"][0] in format_table(list(rows.values()))


def test_train_path_set_and_table():
    from benchmarks.train_path import BATCH, format_table, vector_set
    data = vector_set(1000, dim=4)
    assert data.train.shape == (1000, 4) and len(data.validation) == len(data.test) == BATCH
    report = {"machine": {"cpu": "cpu", "cores": 2}, "batch": BATCH, "zuko_examples_per_s": None,
              "zuko": "zuko peer skipped: no torch",
              "rows_measured": [{"flow_batch_norm": True, "step": 100.0, "train_path": 90.0,
                                 "train_path_over_step": 0.9, "train_path_over_zuko": None}]}
    assert "| on | 100 | 90 | 90% | 0 | zuko peer skipped: no torch |" in format_table(report)


def test_op_profile_names_ops_without_onednn_rewrite_prefixes():
    from benchmarks.op_profile import op_type_name
    assert op_type_name("_MklNativeConv2DBackpropFilter") == "Conv2DBackpropFilter"
    assert op_type_name("_MklNativeFusedConv2D") == "FusedConv2D"
    assert op_type_name("_MklConv2D") == "Conv2D"
    assert op_type_name("_FusedConv2D") == "FusedConv2D"
    assert op_type_name("Conv2D") == "Conv2D"


def test_op_profile_finds_the_convolutions_of_an_image_step():
    from benchmarks.op_profile import profile_case
    model = tfnvp.RealNVP((8, 8, 1), 17, num_scales=1, num_res_blocks=1, num_filters=4)
    rows = profile_case("digits", steps=2, warmup=1, model=model)
    by_op = {row["op"]: row for row in rows}
    # the forward pass may run as grappler's conv + bias fusion, whatever the host
    forward = [op for op in ("Conv2D", "FusedConv2D") if op in by_op]
    assert forward, sorted(by_op)
    for op in (*forward, "Conv2DBackpropFilter", "Conv2DBackpropInput"):
        assert by_op[op]["ms_per_step"] > 0 and by_op[op]["ops_per_step"] >= 1, op
    assert not any(op.startswith("_") for op in by_op), sorted(by_op)
    assert sum(row["share"] for row in rows) == pytest.approx(1.0)
    assert [row["ms_per_step"] for row in rows] == sorted(
        (row["ms_per_step"] for row in rows), reverse=True)
