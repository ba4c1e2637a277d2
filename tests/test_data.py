import numpy as np
import pytest
import tensorflow as tf

from tfnvp import data


def _arr(ds):
    return np.stack(list(ds.as_numpy_iterator()))


def test_digits_shapes_and_splits():
    b = data.load("digits")
    assert b.event_shape == (8, 8, 1) and b.levels == 17
    x = _arr(b.train)
    assert x.dtype == np.float32 and x.shape[1:] == (8, 8, 1)
    assert x.min() >= 0 and x.max() <= 16 and np.all(x == np.round(x))
    assert (b.num_test, b.num_train + b.num_validation) == (360, 1797 - 360)
    assert len(_arr(b.validation)) == b.num_validation == round(0.1 * 1437)


@pytest.mark.parametrize("name", data.TOY_DATASETS)
def test_toys(name):
    b = data.load(name, seed=1)
    x = _arr(b.train)
    assert x.shape == (10_000, 2) and b.levels is None and np.all(np.isfinite(x))
    assert 0.2 < x.std() < 3
    np.testing.assert_array_equal(x, _arr(data.load(name, seed=1).train))


def test_dequantise_and_flip():
    columns = np.tile(np.arange(4, dtype=np.float32), (8, 4, 1))[..., None]  # pixel = column
    ds = tf.data.Dataset.from_tensor_slices(columns)
    it = data.batches(ds, 8, levels=4, training=True, horizontal_flip=True, seed=0)
    a, b = [next(iter(it)).numpy() for _ in range(1)] + [list(it)[0].numpy()]
    frac = a - np.floor(a)
    assert np.all(frac >= 0) and np.all(frac < 1) and not np.allclose(a, b)
    cols = np.floor(a[..., 0]).mean(axis=1)  # [B, W]
    assert any(c[0] == 3 for c in cols) and any(c[0] == 0 for c in cols)
    no = next(iter(data.batches(ds, 8, levels=None, training=False))).numpy()
    np.testing.assert_array_equal(no, _arr(ds))


def test_user_files(tmp_path):
    np.save(tmp_path / "v.npy", np.random.randn(100, 3))
    b = data.load(str(tmp_path / "v.npy"))
    assert b.event_shape == (3,) and b.levels is None and b.num_test == 10
    np.savez(tmp_path / "i.npz", x=np.random.randint(0, 256, (50, 4, 4)))
    b = data.load(str(tmp_path / "i.npz"))
    assert b.event_shape == (4, 4, 1) and b.levels == 256


@pytest.mark.parametrize("arr,msg", [
    (np.random.rand(20, 4, 4), "integers"),
    (np.full((20, 4, 4), 300), "outside"),
    (np.array([[np.nan, 1.0]] * 20), "NaN"),
    (np.zeros((0, 2)), "empty"),
    (np.zeros((20,)), "rank"),
])
def test_errors(tmp_path, arr, msg):
    np.save(tmp_path / "bad.npy", arr)
    with pytest.raises(ValueError, match=msg):
        data.load(str(tmp_path / "bad.npy"))


def test_unknown_and_missing():
    with pytest.raises(ValueError, match="digits"):
        data.load("nope")
    with pytest.raises(ValueError, match="does not exist"):
        data.load("/no/such.npy")


@pytest.mark.parametrize("name,shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3)),
                                        ("celeb_a", (64, 64, 3)),
                                        ("downsampled_imagenet/32x32", (32, 32, 3))])
def test_tfds_mock(name, shape, monkeypatch):
    import tensorflow_datasets as tfds

    from tfnvp.data import network
    monkeypatch.setattr(network, "is_online", lambda: True)  # mock_data's download is a no-op
    with tfds.testing.mock_data(num_examples=5):
        b = data.load(name)
        x = next(iter(b.train)).numpy()
    assert b.event_shape == shape and x.shape == shape and b.levels == 256
    assert x.min() >= 0 and x.max() <= 255 and b.horizontal_flip == (name in ("cifar10", "celeb_a"))
