"""`tfnvp evaluate`: NLL and bits/dim of a trained run on a split, printed as JSON."""
from tfnvp_training import options
from tfnvp_training.errors import UsageError
from tfnvp_training.run_folder import RunFolder

HELP = "print JSON with nll and bits_per_dim of a run's best checkpoint on a split"


def add_arguments(parser):
    options.add_run_arguments(parser, what="use")
    options.add_data_arguments(parser)
    parser.add_argument("--split", choices=("test", "validation", "train"), default="test")
    parser.add_argument("--eval-draws", type=options.positive_int,
                        help="dequantisation noise draws to average (default: the run's)")


def run(args):
    import json

    run_folder = RunFolder(args.model)
    config = run_folder.read_config()
    model, used = run_folder.load_trained_model(args.checkpoint)
    data_name = args.data or config["data"]
    seed = config["seed"] if args.seed is None else args.seed
    batch_size = args.batch_size or config["batch_size"]

    from tfnvp import data as tfnvp_data
    from tfnvp_training.evaluation import evaluate_split

    # The run's own data is split by the run's seed, whatever --seed says (that seeds the noise):
    # another seed would draw other test examples from a file without splits, or from the
    # digits, and some of them would be ones the run trained on.
    own_data = (tfnvp_data.local_path(data_name) or data_name) == config["data"]
    split_seed = config["seed"] if own_data else seed

    bundle = tfnvp_data.load(data_name, seed=split_seed, **options.data_options(args, config))
    if tuple(bundle.event_shape) != tuple(model.event_shape):
        raise UsageError(f"{data_name!r} has shape {tuple(bundle.event_shape)}, but the model "
                         f"in {run_folder.path} expects {model.event_shape}.")
    split = getattr(bundle, args.split)
    if split is None:
        raise UsageError(f"{data_name!r} has no {args.split} split; use --split validation.")
    result = evaluate_split(model, split, batch_size=batch_size, seed=seed,
                            draws=args.eval_draws or config["eval_draws"])
    report = {"model": run_folder.path, "checkpoint": used, "data": data_name,
              "split": args.split, "examples": result["examples"], "draws": result["draws"],
              "nll": result["nll"], "nll_unit": "nats per example",
              "bits_per_dim": result["bits_per_dim"], "nll_per_draw": result["nll_per_draw"]}
    print(json.dumps(report, indent=2))
    return report
