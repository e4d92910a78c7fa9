import keras
import numpy as np


class EpochSeeding(keras.callbacks.Callback):
    """Sets every random seed state of the model at the start of each epoch.

    Dropout masks then depend on `(seed, epoch)` alone, not on how many steps
    ran before in this process: a run resumed from a backup draws the masks
    an unkilled run would have drawn.

    Args:
        seed: int. The run's seed.
    """

    def __init__(self, seed):
        super().__init__()
        self.seed = int(seed)

    def on_epoch_begin(self, epoch, logs=None):
        seed_states = [
            v
            for v in self.model.variables
            if v.path.endswith("seed_generator_state")
        ]
        for index, state in enumerate(seed_states):
            value = np.array(
                [self.seed * 1_000_003 + epoch * 7919 + index, 0],
                dtype=keras.backend.standardize_dtype(state.dtype),
            )
            state.assign(value)
