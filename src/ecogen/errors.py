"""User-facing errors: the CLI turns each into one line on stderr and exit code 2."""


class EcogenError(Exception):
    """Bad input or state the user can fix; never a bug in ecogen."""


class ConfigError(EcogenError):
    """An unknown, missing or ill-typed configuration value."""


class CheckpointError(EcogenError):
    """A checkpoint that is missing, corrupt, foreign or unsafe to load."""


class DataError(EcogenError):
    """A data source that cannot be read or is unusable."""
