"""Pictures of a flow: image grids of samples, completions (original / masked / completed), and
for 2-D data the learned density beside the data and the samples, and the paper's figure of the
map itself (data and latent, grids pushed through `f` and `f^-1`). Written with matplotlib (Agg
backend, no display needed)."""
import math

import numpy as np

__all__ = ["completion_picture", "flow_figure", "group_colours", "image_grid", "save_image",
           "save_vector_figure", "tile", "unit_range"]


def image_grid(images, levels=None, columns=None):
    """`[N, H, W, C]` -> one `[rows*(H+1)-1, cols*(W+1)-1, C]` float32 picture in `[0, 1]`.

    Values are raw (in `[0, levels)` for discrete data, scaled by `levels`); continuous images
    are min-max scaled. A one-pixel white border separates the cells."""
    return tile(unit_range(images, levels), columns)


def unit_range(images, levels=None):
    """Raw images -> float32 in `[0, 1]`: pixel `floor(x)` of `levels` scaled to `[0, 1]`;
    continuous images min-max scaled; NaN shown as 0."""
    images = np.asarray(images, np.float32)
    if levels:
        images = np.clip(np.floor(images), 0, levels - 1) / (levels - 1)
    else:
        low, high = np.nanmin(images), np.nanmax(images)
        images = (images - low) / max(high - low, 1e-12)
    return np.nan_to_num(images, nan=0.0)


def tile(images, columns=None):
    """`[N, H, W, C]` in `[0, 1]` -> a grid of `columns` cells a row (default: square) with a
    one-pixel white border between cells."""
    n, height, width, channels = images.shape
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


HIDDEN_TINT = (0.15, 0.35, 0.85)  # hidden entries in the "masked" row: a blue no pixel has


def completion_picture(original, observed, completions, levels=None, columns=16):
    """Rows of `columns` examples: original, masked (hidden entries tinted), then each array of
    `completions` (a list of `[N, H, W, C]`); longer inputs continue in further blocks of rows.
    Returns an RGB `[height, width, 3]` picture in `[0, 1]`."""
    original = np.asarray(original)
    hidden = ~np.broadcast_to(np.asarray(observed, bool), original.shape)
    rgb = [_rgb(unit_range(a, levels)) for a in (original, *completions)]
    masked = np.where(_rgb(hidden.astype(np.float32)) > 0, np.float32(HIDDEN_TINT), rgb[0])
    rows = [rgb[0], masked, *rgb[1:]]
    blocks = []
    for begin in range(0, len(original), columns):
        cells = np.concatenate([row[begin:begin + columns] for row in rows])
        blocks.append(tile(cells, min(columns, len(original) - begin)))
    width = max(b.shape[1] for b in blocks)
    blocks = [np.pad(b, ((0, 0), (0, width - b.shape[1]), (0, 0)), constant_values=1.0)
              for b in blocks]
    gap = np.ones((3, width, 3), np.float32)
    return np.concatenate([part for b in blocks for part in (b, gap)][:-1])


def _rgb(images):
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def flow_figure(path, model, data, labels=None, resolution=120, grid_lines=9):
    """The paper's figure 1 for a 2-D flow `f: x -> z`, six panels in two rows:

        data x (coloured by `labels`)   | latent f(x), same colours    | learned density p(x)
        samples f^-1(z), z ~ N(0, I)    | grid of x-space lines, by f  | grid of z lines, by f^-1

    `data` `[N, 2]`; `labels` `[N]` integers (None: one colour)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    data = np.asarray(data, np.float32)
    latent = np.asarray(model.encode(data))
    samples = np.asarray(model.sample(len(data), seed=0))
    low, high = _view(data)
    z_low, z_high = np.full(2, -3.5), np.full(2, 3.5)
    colours = "tab:blue" if labels is None else group_colours(labels)
    fig, axes = plt.subplots(2, 3, figsize=(12, 8))
    (ax_data, ax_latent, ax_density), (ax_samples, ax_forward, ax_inverse) = axes

    def scatter(ax, points, title, lim):
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.6, c=colours)
        ax.set(xlim=(lim[0][0], lim[1][0]), ylim=(lim[0][1], lim[1][1]), title=title)
        ax.set_aspect("equal", adjustable="box")

    scatter(ax_data, data, "data x", (low, high))
    scatter(ax_latent, latent, "latent z = f(x)", (z_low, z_high))
    xs, ys = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    points = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2).astype(np.float32)
    density = np.exp(np.asarray(model.log_prob(points), np.float64))
    ax_density.imshow(density.reshape(resolution, resolution), origin="lower", cmap="viridis",
                      extent=(low[0], high[0], low[1], high[1]), aspect="auto")
    ax_density.set_title("learned density p(x)")
    ax_samples.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.6, color="tab:green")
    ax_samples.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), title="samples f^-1(z)")
    ax_samples.set_aspect("equal", adjustable="box")
    for lines, ax, title in ((_grid_lines(low, high, grid_lines), ax_forward,
                              "x-space grid mapped by f"),
                             (_grid_lines(z_low, z_high, grid_lines), ax_inverse,
                              "z-space grid mapped by f^-1")):
        flat = np.concatenate(lines).astype(np.float32)
        mapped = np.asarray(model.encode(flat) if ax is ax_forward else model.decode(flat))
        for segment in np.split(mapped, len(lines)):
            ax.plot(segment[:, 0], segment[:, 1], lw=0.8, color="tab:blue")
        view = (z_low, z_high) if ax is ax_forward else (low, high)
        ax.set(xlim=(view[0][0], view[1][0]), ylim=(view[0][1], view[1][1]), title=title)
        ax.set_aspect("equal", adjustable="box")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def group_colours(labels):
    """One tab10 colour per integer label, grey for points in no group (-1): `[N, 4]` RGBA."""
    import matplotlib
    palette = matplotlib.colormaps["tab10"]
    return np.array([palette(label % 10) if label >= 0 else (0.6, 0.6, 0.6, 1.0)
                     for label in np.asarray(labels).tolist()])


def _view(points, margin=0.15):
    low, high = np.percentile(points, 0.5, axis=0), np.percentile(points, 99.5, axis=0)
    pad = margin * (high - low)
    return low - pad, high + pad


def _grid_lines(low, high, count, points_per_line=200):
    """`2 * count` polylines `[points_per_line, 2]`: `count` vertical and `count` horizontal."""
    lines = []
    for axis in (0, 1):
        for value in np.linspace(low[axis], high[axis], count):
            line = np.empty((points_per_line, 2))
            line[:, axis] = value
            line[:, 1 - axis] = np.linspace(low[1 - axis], high[1 - axis], points_per_line)
            lines.append(line)
    return lines
