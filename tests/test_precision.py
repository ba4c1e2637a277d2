"""`--dtype auto` picks by the hardware, whatever host the test runs on (the probes are faked)."""
import json

import pytest

from tfnvp_training import precision
from tfnvp_training.cli import main


@pytest.mark.parametrize("flags, expected", [("fpu vme avx2 fma", False),
                                             ("fpu avx512f amx_tile amx_bf16 amx_int8", True)])
def test_amx_is_read_from_the_cpu_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    assert precision.cpu_has_amx_bf16(str(cpuinfo)) is expected
    assert precision.cpu_has_amx_bf16(str(tmp_path / "missing")) is False


@pytest.mark.parametrize("amx, expected", [(True, "mixed_bfloat16"), (False, "float32")])
def test_auto_picks_bfloat16_only_where_the_cpu_multiplies_it(monkeypatch, amx, expected):
    import tensorflow as tf
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(precision, "cpu_has_amx_bf16", lambda: amx)
    dtype, why = precision.resolve_dtype("auto")
    assert dtype == expected and why
    assert precision.resolve_dtype("float64") == ("float64", None)


@pytest.mark.slow
def test_train_with_dtype_auto_says_what_it_picked_and_records_it(tmp_path, capsys,
                                                                 monkeypatch):
    import tensorflow as tf
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])  # no GPU
    monkeypatch.setattr(precision, "cpu_has_amx_bf16", lambda: True)
    assert main(["train", "--data", "moons", "--out", str(tmp_path), "--epochs", "1",
                 "--batch-size", "1000", "--coupling-layers", "2", "--hidden-units", "8",
                 "--quiet", "--dtype", "auto", "--eval-draws", "1"]) == 0
    assert "--dtype auto: mixed_bfloat16 (the CPU has AMX (amx_bf16))" in capsys.readouterr().out
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"]["dtype"] == "mixed_bfloat16"
    assert config["model_config"]["dtype"]["config"]["name"] == "mixed_bfloat16"
