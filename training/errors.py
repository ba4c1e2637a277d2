"""The one exception type the CLI turns into a one-line message (exit status 2)."""


class UsageError(Exception):
    """Bad input from the user: an unknown dataset, config key, missing checkpoint, ..."""
