"""Every exception meant for a user: one line that says what is wrong, printed by the CLI without a traceback.

The command line (``alexnet_cli``) and the dashboard catch exactly ``USER_ERRORS``; anything else is a bug
and keeps its traceback. Plain ``ValueError``/``RuntimeError`` subclasses so callers that predate this
module still catch them.
"""

from __future__ import annotations


class CheckpointError(ValueError):
    """A file that is not a usable AlexNet Explorer checkpoint; the message says why."""


class DataError(ValueError):
    """A data folder or file the pipeline cannot use; the message is one line and says why."""


class TrainError(ValueError):
    """A training run that cannot start or continue as asked; the message is one line and says why."""


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are neither cached on this machine nor downloadable."""


USER_ERRORS: tuple[type[Exception], ...] = (
    CheckpointError,
    DataError,
    TrainError,
    WeightsUnavailableError,
    FileNotFoundError,
)

__all__ = ["USER_ERRORS", "CheckpointError", "DataError", "TrainError", "WeightsUnavailableError"]
