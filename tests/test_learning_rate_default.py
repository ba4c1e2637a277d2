"""`tfnvp train` trains image flows with Adam at `IMAGE_LR` and vector flows at `VECTOR_LR` when
neither --lr nor the config sets the rate; config.json records the rate used (resume and
`evaluate` read it), the optimizer gets it, and the paper configs keep the paper's 1e-3."""
import numpy as np
import pytest

from helpers import train_run
from tfnvp_training import config as run_config
from tfnvp_training import resolve_config, train
from tfnvp_training.config import IMAGE_LR, VECTOR_LR, default_learning_rate

TINY_IMAGE_FLOW = ["--scales", "1", "--final-couplings", "2", "--res-blocks", "1",
                   "--filters", "4"]
TINY_VECTOR_FLOW = ["--coupling-layers", "2", "--hidden-units", "8"]


def test_image_flows_default_to_a_higher_rate_than_vectors():
    assert default_learning_rate(is_image=True) == IMAGE_LR
    assert default_learning_rate(is_image=False) == VECTOR_LR
    assert IMAGE_LR > VECTOR_LR == 1e-3  # vectors keep Adam's own default
    assert run_config.DEFAULTS["lr"] is None  # decided once the data is known


def data_file(tmp_path, image):
    rng = np.random.default_rng(0)
    path = tmp_path / ("images.npy" if image else "table.npy")
    np.save(path, rng.integers(0, 256, (80, 4, 4, 1), np.uint8) if image
            else rng.normal(size=(200, 3)).astype(np.float32))
    return path


def trained_config(tmp_path, capsys, image, *flags):
    return train_run(tmp_path, capsys, data_file(tmp_path, image),
                     *(["--levels", "256", *TINY_IMAGE_FLOW] if image else TINY_VECTOR_FLOW),
                     *flags)[0]


@pytest.mark.slow
@pytest.mark.parametrize("image, flags, lr", [
    (True, (), IMAGE_LR), (False, (), VECTOR_LR), (True, ("--lr", "5e-4"), 5e-4),
    (False, ("--lr", "3e-3"), 3e-3)])
def test_train_records_the_rate_it_used(tmp_path, capsys, image, flags, lr):
    assert trained_config(tmp_path, capsys, image, *flags)["lr"] == pytest.approx(lr)


@pytest.mark.slow
def test_the_optimizer_trains_at_the_default_rate(tmp_path):
    settings = resolve_config({}, {"data": str(data_file(tmp_path, True)), "levels": 256,
                                   "epochs": 1, "eval_draws": 1, "lr_schedule": "constant"},
                              {"num_scales": 1, "final_couplings": 2, "num_res_blocks": 1,
                               "num_filters": 4})
    outcome = train(settings, str(tmp_path / "run"), verbose=0)
    rate = outcome["model"].optimizer.learning_rate
    assert float(np.asarray(rate)) == pytest.approx(IMAGE_LR)


def test_paper_and_packaged_image_configs_pin_their_rate():
    for name in ("cifar10", "celeba", "imagenet32", "imagenet64", "lsun_bedroom",
                 "lsun_church_outdoor", "lsun_tower"):  # the paper's Adam default
        assert resolve_config(run_config.load_config(name))["lr"] == 1e-3, name
    for name in ("digits", "mnist"):  # ours: the image rate the ablation measured best
        assert resolve_config(run_config.load_config(name))["lr"] == IMAGE_LR, name
    for name in run_config.available_configs():  # none relies on the data-dependent default
        assert run_config.load_config(name).get("lr") is not None, name
