"""Pictures of a flow: image grids of samples, and for 2-D data the learned density beside the
data and the samples. Written with matplotlib (Agg backend, no display needed)."""
import math

import numpy as np

__all__ = ["image_grid", "save_image", "save_vector_figure"]


def image_grid(images, levels=None, columns=None):
    """`[N, H, W, C]` -> one `[rows*(H+1)-1, cols*(W+1)-1, C]` float32 picture in `[0, 1]`.

    Values are raw (in `[0, levels)` for discrete data, scaled by `levels`); continuous images
    are min-max scaled. A one-pixel white border separates the cells."""
    images = np.asarray(images, np.float32)
    n, height, width, channels = images.shape
    if levels:
        images = np.clip(np.floor(images), 0, levels - 1) / (levels - 1)
    else:
        low, high = np.nanmin(images), np.nanmax(images)
        images = (images - low) / max(high - low, 1e-12)
    images = np.nan_to_num(images, nan=0.0)
    columns = columns or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / columns))
    grid = np.ones((rows * (height + 1) - 1, columns * (width + 1) - 1, channels), np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * (height + 1):r * (height + 1) + height,
             c * (width + 1):c * (width + 1) + width] = image
    return grid


def save_image(path, grid, scale=None):
    """Writes a `[H, W, C]` picture in `[0, 1]` as PNG, enlarged `scale` times (nearest)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    scale = scale or max(1, 256 // max(grid.shape[:2]))
    grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    if grid.shape[-1] == 1:
        plt.imsave(path, grid[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        plt.imsave(path, np.clip(grid, 0.0, 1.0))


def save_vector_figure(path, data, samples, log_prob_fn=None, resolution=150):
    """Scatter plots of `data` (None: samples only) and `samples` (`[N, D]`, first two
    features); with `log_prob_fn` (`[M, 2] -> [M]` nats, 2-D data only) the learned density
    `exp(log p)` as a heat-map beside them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    samples = np.asarray(samples)[:, :2]
    data = samples if data is None else np.asarray(data)[:, :2]
    low, high = np.percentile(data, 0.5, axis=0), np.percentile(data, 99.5, axis=0)
    margin = 0.15 * (high - low)
    low, high = low - margin, high + margin
    scatters = [(samples, "samples")] if data is samples else [(data, "data"), (samples, "samples")]
    panels = len(scatters) + (log_prob_fn is not None)
    fig, axes = plt.subplots(1, panels, figsize=(4 * panels, 4))
    axes = list(np.atleast_1d(axes))
    if log_prob_fn is not None:
        xs, ys = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
        density = np.exp(np.asarray(log_prob_fn(grid), np.float64)).reshape(resolution, resolution)
        ax = axes.pop(0)
        ax.imshow(density, origin="lower", extent=(low[0], high[0], low[1], high[1]),
                  aspect="auto", cmap="viridis")
        ax.set_title("learned density p(x)")
    for ax, (points, title) in zip(axes, scatters):
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5)
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
