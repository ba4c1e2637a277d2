"""Real data for the quality benchmark, built offline from what scikit-image and scikit-learn ship.

    patches8, patches16   grey 8x8 / 16x16 patches of photographs: uint8 [N, H, W, 1], 0..255
    bsds300               the MAF paper's BSDS300 preprocessing of the 8x8 patches:
                          v = (x + u) / 256, u ~ U[0, 1); v - mean(v) per patch; last pixel
                          dropped -> float32 [N, 63]
    breast_cancer, wine, diabetes   scikit-learn's tables, standardised: float32 [N, D]

Region-disjoint splits: every photograph is cut into TILE x TILE tiles, each tile goes to train,
validation or test (80/10/10, seeded, per photograph), and a patch lies inside one tile, so no
validation or test pixel is ever seen in training. The patch sets and bsds300 share their patches.

Cached in `bench-data/` (`load(name)`); a cache built with other parameters is rebuilt. Image
sets are also written as `NAME.npy` (train + validation, integers) for `tfnvp train --data`.
"""
import json
import os
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["IMAGE_SETS", "PHOTOGRAPHS", "SETS", "TABLE_SETS", "VECTOR_SETS", "RealData",
           "gaussian_nll", "load"]

# The natural photographs scikit-image ships (no download). Left out: motorcycle_right (the
# stereo twin of motorcycle_left), hubble_deep_field (mostly black sky), immunohistochemistry,
# cell and microaneurysms (microscopy), retina (a fundus image, 20% black border), text and page
# (scans of print), and the synthetic images.
PHOTOGRAPHS = ("astronaut", "camera", "chelsea", "coffee", "rocket", "motorcycle", "coins", "moon",
               "grass", "gravel", "brick")
TILE = 32
TILE_FRACTIONS = (0.8, 0.1, 0.1)              # train, validation, test tiles
PATCH_COUNTS = (8000, 2000, 2000)             # train, validation, test patches
TABLE_FRACTIONS = (0.7, 0.15, 0.15)
IMAGE_SETS = {"patches8": 8, "patches16": 16}
TABLE_SETS = ("breast_cancer", "wine", "diabetes")
VECTOR_SETS = ("bsds300", *TABLE_SETS)
SETS = (*IMAGE_SETS, *VECTOR_SETS)
SPLITS = ("train", "validation", "test")
VERSION = 1                                   # bump when a recipe changes: caches rebuild
DEFAULT_FOLDER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "bench-data")


@dataclass(frozen=True)
class RealData:
    """One data set: `train`, `validation`, `test` arrays and where they come from."""
    name: str
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    source: str

    @property
    def event_shape(self):
        return tuple(self.train.shape[1:])

    def describe(self):
        sizes = "/".join(str(len(getattr(self, s))) for s in SPLITS)
        return (f"{self.name}: {self.train.dtype} {list(self.event_shape)}, train/validation/test "
                f"{sizes}; {self.source}")


def load(name, folder=None, seed=0):
    """The set `name` (one of `SETS`), from the cache in `folder` or built and cached there."""
    if name not in SETS:
        raise ValueError(f"unknown real data set {name!r}; expected one of {', '.join(SETS)}.")
    folder = folder or DEFAULT_FOLDER
    path = os.path.join(folder, f"{name}.npz")
    meta = json.loads(json.dumps(_recipe(name, seed)))  # tuples -> lists, as read back
    if os.path.isfile(path):
        with np.load(path) as cached:
            if json.loads(str(cached["meta"])) == meta:
                return RealData(name, *(cached[s] for s in SPLITS), meta["source"])
    data = _build(name, seed)
    os.makedirs(folder, exist_ok=True)
    arrays = {s: getattr(data, s) for s in SPLITS}
    _atomic_savez(path, meta=json.dumps(meta), **arrays)
    if name in IMAGE_SETS:  # for the CLI, which makes its own splits
        np.save(os.path.join(folder, f"{name}.npy"), np.concatenate([data.train, data.validation]))
    return data


def gaussian_nll(data):
    """Test NLL (nats per example) of the full-covariance Gaussian fitted to `data.train`."""
    train = data.train.reshape(len(data.train), -1).astype(np.float64)
    test = data.test.reshape(len(data.test), -1).astype(np.float64)
    mean, cov = train.mean(0), np.cov(train, rowvar=False)
    _, logdet = np.linalg.slogdet(cov)
    centred = test - mean
    mahalanobis = np.einsum("nd,nd->n", centred @ np.linalg.inv(cov), centred)
    return float(np.mean(0.5 * (mahalanobis + logdet + train.shape[1] * np.log(2 * np.pi))))


# ------------------------------------------------------------------ recipes

def _recipe(name, seed):
    """Everything that defines the set; a cache with another recipe is rebuilt."""
    meta = {"version": VERSION, "seed": seed}
    if name in TABLE_SETS:
        meta.update(fractions=TABLE_FRACTIONS,
                    source=f"scikit-learn load_{name}, columns on a grid dequantised, split "
                           f"{'/'.join(str(f) for f in TABLE_FRACTIONS)} at random, "
                           f"standardised with the train mean/std")
        return meta
    size = IMAGE_SETS.get(name, 8)
    what = (f"grey {size}x{size} patches" if name in IMAGE_SETS
            else "8x8 patches, (x + U[0,1))/256, patch mean removed, last pixel dropped")
    meta.update(photographs=PHOTOGRAPHS, tile=TILE, tile_fractions=TILE_FRACTIONS,
                counts=PATCH_COUNTS,
                source=f"{what}, of {len(PHOTOGRAPHS)} scikit-image photographs; split by "
                       f"{TILE}x{TILE} tiles ({'/'.join(str(f) for f in TILE_FRACTIONS)})")
    return meta


def _build(name, seed):
    source = _recipe(name, seed)["source"]
    if name in TABLE_SETS:
        return RealData(name, *_table(name, seed), source)
    patches = _patches(IMAGE_SETS.get(name, 8), seed)
    if name in IMAGE_SETS:
        return RealData(name, *patches, source)
    rng = np.random.default_rng([seed, 300])  # the dequantisation noise, one fixed draw
    return RealData(name, *(_bsds300_vectors(p, rng) for p in patches), source)


def _photographs():
    """The photographs as grey uint8 [H, W] arrays (ITU-R 601 luma, as skimage.color)."""
    import skimage.color
    import skimage.data
    images = []
    for name in PHOTOGRAPHS:
        image = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else \
            getattr(skimage.data, name)()
        if image.ndim == 3:
            image = np.round(skimage.color.rgb2gray(image[..., :3]) * 255)
        images.append(np.clip(image, 0, 255).astype(np.uint8))
    return images


def _patches(size, seed):
    """(train, validation, test) uint8 [N, size, size, 1]: each patch inside one tile of its
    split, tiles drawn uniformly, positions uniformly inside the tile."""
    rng = np.random.default_rng([seed, size])
    tiles = {s: [] for s in SPLITS}  # (image index, top, left)
    images = _photographs()
    for index, image in enumerate(images):
        rows, cols = image.shape[0] // TILE, image.shape[1] // TILE
        corners = [(index, r * TILE, c * TILE) for r in range(rows) for c in range(cols)]
        order = rng.permutation(len(corners))
        ends = np.cumsum(np.round(np.array(TILE_FRACTIONS) * len(corners)).astype(int))
        for split, part in zip(SPLITS, np.split(order, ends[:-1])):
            tiles[split] += [corners[i] for i in part]
    splits = []
    for split, count in zip(SPLITS, PATCH_COUNTS):
        chosen = rng.integers(0, len(tiles[split]), count)
        offsets = rng.integers(0, TILE - size + 1, (count, 2))
        patches = [images[i][top + dy:top + dy + size, left + dx:left + dx + size]
                   for (i, top, left), (dy, dx) in zip((tiles[split][c] for c in chosen),
                                                       offsets)]
        splits.append(np.stack(patches)[..., None])
    return splits


def _bsds300_vectors(patches, rng):
    """uint8 [N, 8, 8, 1] -> float32 [N, 63]: dequantise, scale to [0, 1), remove the patch
    mean, drop the last pixel (the MAF paper's BSDS300 recipe)."""
    x = (patches.reshape(len(patches), -1) + rng.random((len(patches), 64))) / 256.0
    x -= x.mean(axis=1, keepdims=True)
    return x[:, :-1].astype(np.float32)


def _table(name, seed):
    """scikit-learn table -> (train, validation, test) float32, standardised by the train split.

    A column recorded on a grid (integers such as ages, the 1/2 of `sex`, values rounded to 0.1)
    has point masses a flow can put unbounded density on; it gets U[0, step) noise, where step
    is the smallest gap between its distinct values (the tabular analogue of dequantising
    pixels). On the continuous columns that noise is far below their spread."""
    import sklearn.datasets
    loader = getattr(sklearn.datasets, f"load_{name}")
    x = (loader(scaled=False) if name == "diabetes" else loader()).data.astype(np.float64)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    x = x + rng.random(x.shape) * _grid_steps(x)
    x = x[rng.permutation(len(x))]
    ends = np.cumsum(np.round(np.array(TABLE_FRACTIONS) * len(x)).astype(int))
    train, validation, test = np.split(x, ends[:-1])
    mean, std = train.mean(0), train.std(0)
    return [((part - mean) / std).astype(np.float32) for part in (train, validation, test)]


def _grid_steps(x):
    """[D]: the smallest gap between distinct values of each column (rounded to 10 digits)."""
    steps = []
    for column in x.T:
        values = np.unique(np.round(column, 10))
        steps.append(np.diff(values).min() if len(values) > 1 else 1.0)
    return np.array(steps)


def _atomic_savez(path, **arrays):
    tmp = f"{path}.tmp{os.getpid()}.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
