"""The error of a training run whose loss or weights stopped being finite."""


class NonFiniteLossError(ValueError):
    """A training loss, validation loss or weight became NaN or inf.

    Raised by `vidattn.training.StopOnNonFiniteLoss`, so that a diverged
    run fails with the epoch and batch where it happened (a `ValueError`:
    `vidattn train` reports it as one message and exits 1) instead of
    finishing with NaN weights.
    """
