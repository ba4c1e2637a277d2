"""`tfnvp score`: the log-likelihood of each example of a file (anomaly and OOD scores)."""
from tfnvp_training import options
from tfnvp_training.run_folder import RunFolder

HELP = "write each example's log_prob (nats) and bits/dim under a run's model to .csv or .npy"


def add_arguments(parser):
    options.add_run_arguments(parser, what="use")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help=".npy/.npz/.csv, one example a row; integer pixels are dequantised, "
                             "floats scored as given")
    parser.add_argument("--out", required=True, metavar="SCORES.csv|SCORES.npy",
                        help=".csv: index,log_prob[,bits_per_dim] per row; .npy: the log_prob "
                             "vector")
    parser.add_argument("--draws", type=options.positive_int, default=4,
                        help="dequantisation draws averaged per integer example (as 'evaluate')")
    parser.add_argument("--seed", type=int, help="noise seed (default: the run's)")
    parser.add_argument("--batch-size", type=options.positive_int,
                        help="examples per batch (default: the run's)")


def score(model, examples, *, draws, seed, batch_size):
    """Per-example `log p` `[N]` (nats, float64). Integer examples: the mean over `draws`
    dequantisations `x + u_d`, draw `d` made exactly as `evaluate` makes it (`data.batches` with
    `evaluation_seed(seed, d)`), so the mean of the scores is minus its `nll`; floats: one pass
    as given."""
    import keras
    import numpy as np
    import tensorflow as tf

    from tfnvp import data
    from tfnvp_training.evaluation import evaluation_seed

    dataset = tf.data.Dataset.from_tensor_slices(examples.values.astype(np.float32))
    levels = model.levels if examples.integer else None  # None: no noise added
    draws = draws if examples.integer else 1
    log_prob = tf.function(model.log_prob)
    total = np.zeros(len(examples))
    for draw in range(draws):
        batches = data.batches(dataset, batch_size, levels=levels, training=False,
                               seed=evaluation_seed(seed, draw))
        total += np.concatenate([log_prob(keras.utils.unpack_x_y_sample_weight(batch)[0]).numpy()
                                 for batch in batches])
    return total / draws


def run(args):
    import os

    import numpy as np

    from tfnvp import nats_to_bits_per_dim
    from tfnvp_training.data_file import read_examples

    options.check_suffix(args.out, (".csv", ".npy"))
    run_folder = RunFolder(args.model)
    config = run_folder.read_config()
    model, _ = run_folder.load_trained_model(args.checkpoint)
    examples = read_examples(args.data, model)
    seed = config["seed"] if args.seed is None else args.seed
    log_prob = score(model, examples, draws=args.draws, seed=seed,
                     batch_size=args.batch_size or config["batch_size"])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    bits = None if model.levels is None else nats_to_bits_per_dim(-log_prob, model.num_dims)
    if args.out.endswith(".npy"):
        np.save(args.out, log_prob)
    else:
        with open(args.out, "w") as f:
            f.write("index,log_prob" + (",bits_per_dim" if bits is not None else "") + "\n")
            for i, value in enumerate(log_prob):
                f.write(f"{i},{value:.6f}" + (f",{bits[i]:.6f}" if bits is not None else "")
                        + "\n")
    draws = f", {args.draws} dequantisation draw(s)" if examples.integer else ""
    summary = f"mean log_prob {log_prob.mean():.4f} nats"
    if bits is not None:
        summary += f" ({bits.mean():.4f} bits/dim)"
    print(f"scored {len(log_prob)} examples{draws}: {summary}; wrote {os.path.abspath(args.out)}")
    return log_prob
