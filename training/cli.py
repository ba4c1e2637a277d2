"""The `tfnvp` command: `tfnvp train | evaluate | sample ...` (`tfnvp SUBCOMMAND --help`).

Subcommands live in their own modules, registered in `COMMANDS` by name. A module provides
`HELP` (one line), `add_arguments(parser)` and `run(args)`; its top level must stay light (no
TensorFlow import) so `--help` is fast. Adding a subcommand = a module + one line here.
Bad input (`UsageError`, `ValueError`, missing files) exits with status 2 and one line on stderr;
set `TFNVP_DEBUG=1` for the traceback. Training that stops early (`TrainingStopped`) prints one
line saying where its state is and exits with the error's status: 130/143 after SIGINT/SIGTERM
(the exact state is saved; `--resume` continues it), 1 after repeated non-finite losses.
"""
import argparse
import importlib
import os
import sys

from tfnvp_training.errors import TrainingStopped, UsageError
from tfnvp_training.options import in_flag_terms

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = {
    "train": "tfnvp_training.train_command",
    "evaluate": "tfnvp_training.evaluate_command",
    "sample": "tfnvp_training.sample_command",
    "export": "tfnvp_training.export_command",
    "interpolate": "tfnvp_training.interpolate_command",
    "complete": "tfnvp_training.complete_command",
    "score": "tfnvp_training.score_command",
    "plot": "tfnvp_training.plot_command",
}


class HelpWithDefaults(argparse.HelpFormatter):
    """Shows each flag's default, where it has one of its own (flags whose default comes from the
    run's config say so in their help)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text
                and action.option_strings):
            text += " (default: %(default)s)"
        return text


def _version():
    """The installed tfnvp's version, read without importing it (that imports TensorFlow)."""
    from importlib import metadata
    try:
        return metadata.version("tfnvp")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfnvp", description="Real NVP normalizing flows (Dinh et al. 2017): train, "
                                  "evaluate and sample.")
    parser.add_argument("--version", action="version", version=f"tfnvp {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP,
                                    formatter_class=HelpWithDefaults)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    """Entry point of `tfnvp`; returns the exit status (0; 2 for bad input; `TrainingStopped`'s
    status when training stopped early)."""
    args = build_parser().parse_args(argv)
    if not os.environ.get("TFNVP_DEBUG"):
        from tfnvp_training.quiet_start import start_tensorflow
        start_tensorflow()  # once, before the command: its start-up lines are not for users
    try:
        args.run(args)
    except (UsageError, ValueError, FileNotFoundError, NotADirectoryError) as e:
        if os.environ.get("TFNVP_DEBUG"):
            raise
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        message = in_flag_terms(message)
        print(f"tfnvp {args.command}: error: {message}", file=sys.stderr)
        return 2
    except TrainingStopped as e:
        if os.environ.get("TFNVP_DEBUG"):
            raise
        print(f"tfnvp {args.command}: {e}", file=sys.stderr)
        return e.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main())
