"""The one exception type the CLI turns into a one-line message (exit status 2)."""


class UsageError(Exception):
    """Bad input from the user: an unknown dataset, config key, missing checkpoint, ..."""


class TrainingStopped(Exception):
    """Training ended before its last epoch (a signal, a non-finite loss); the CLI prints the
    message (where the saved state is, how to resume) and exits with `exit_status`."""

    exit_status = 1
