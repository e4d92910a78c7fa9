"""The signal that a search process has run its share of trials."""


class TrialsPerProcessReached(Exception):
    """Raised between trials once a process has run its `trials_per_process`.

    TensorFlow keeps every trial's traced graphs alive in the process, even
    after `keras.backend.clear_session()` and garbage collection, so a long
    search's resident memory grows trial after trial. `vidattn tune
    --trials_per_process N` therefore runs the search in successive
    processes: each runs at most N trials, stops with this exception before
    keras-tuner creates the next trial, and the next process resumes the
    search from its folder.

    Args:
        trials: int. The trials that ended in this process.
    """

    def __init__(self, trials):
        super().__init__(
            f"This process ran its {trials} trial{'' if trials == 1 else 's'};"
            " the search continues in a new process."
        )
        self.trials = trials
