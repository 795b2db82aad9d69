"""Errors with a message that says what is wrong and what to do; jobs end with the message only."""


class MnistError(RuntimeError):
    """MNIST is missing or damaged; the message names the file or folder and what to do."""


class TrainingDiverged(RuntimeError):
    """The loss or a weight became NaN or infinite; the message names p, seed, epoch and value."""


class UnsafeCheckpoint(RuntimeError):
    """A checkpoint file holds something other than plain tensors and containers."""


class DatasetMismatch(RuntimeError):
    """The paired-digit file was made by other code or with other data settings than asked for."""


class CheckpointMismatch(RuntimeError):
    """A model checkpoint's settings are not those of this code's model (written by other code)."""


EXPECTED_ERRORS = (MnistError, TrainingDiverged, UnsafeCheckpoint, DatasetMismatch, CheckpointMismatch)
