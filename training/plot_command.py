"""`tfnvp plot`: the paper's figure 1 for a 2-D run (data, latent, density, mapped grids)."""
from tfnvp_training import options
from tfnvp_training.errors import UsageError
from tfnvp_training.run_folder import RunFolder

HELP = ("draw a 2-D run's data and latent image, its learned density, and grid lines mapped "
        "by f and f^-1 into a .png")


def add_arguments(parser):
    options.add_run_arguments(parser, what="use")  # a run of a 2-D model
    parser.add_argument("--data", metavar="NAME_OR_FILE",
                        help="points to draw: a dataset name or a .npy/.npz/.csv of [N, 2] "
                             "(default: the run's data, its test split)")
    parser.add_argument("--labels", metavar="LABELS.npy",
                        help="an integer label per point to colour by (default: clusters "
                             "found in the data)")
    parser.add_argument("--num", type=int, default=2000, help="points drawn at most")
    parser.add_argument("--out", required=True, metavar="FIG.png")


def clusters(points, max_clusters=10):
    """Labels of the well-separated groups of `points` `[N, 2]`: single-linkage components at a
    distance of 5 typical nearest-neighbour gaps; groups under 2% of the points get -1."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.neighbors import NearestNeighbors

    gaps = NearestNeighbors(n_neighbors=2).fit(points).kneighbors(points)[0][:, 1]
    labels = AgglomerativeClustering(n_clusters=None, linkage="single",
                                     distance_threshold=5 * np.percentile(gaps, 95)
                                     ).fit_predict(points)
    sizes = np.bincount(labels)
    kept = [c for c in np.argsort(-sizes)[:max_clusters] if sizes[c] >= 0.02 * len(points)]
    return np.array([kept.index(c) if c in kept else -1 for c in labels])


def run(args):
    import os

    import numpy as np

    from tfnvp_training.pictures import flow_figure

    options.check_suffix(args.out, (".png",))
    run_folder = RunFolder(args.model)
    config = run_folder.read_config()
    model, _ = run_folder.load_trained_model(args.checkpoint)
    if model.event_shape != (2,):
        raise UsageError(f"tfnvp plot draws 2-D models; this one models shape "
                         f"{model.event_shape}.")
    points = _points(args.data or config["data"], model, config)[:args.num]
    if args.labels:
        labels = np.load(args.labels, allow_pickle=False)[:args.num]
        if labels.shape != (len(points),):
            raise UsageError(f"--labels {args.labels} has shape {labels.shape}; expected one "
                             f"label per point, ({len(points)},).")
    else:
        labels = clusters(points)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    flow_figure(args.out, model, points, labels)
    print(f"wrote the 2-D figure of {run_folder.path} ({len(points)} points, "
          f"{len(set(labels.tolist()) - {-1})} group(s)) to {os.path.abspath(args.out)}")


def _points(source, model, config):
    import os

    import numpy as np

    from tfnvp_training.data_file import read_examples

    if os.path.isfile(source):
        return read_examples(source, model).values.astype(np.float32)
    from tfnvp import data
    bundle = data.load(source, seed=config["seed"])
    split = bundle.test if bundle.test is not None else bundle.validation
    return np.stack(list(split.as_numpy_iterator())).astype(np.float32)
