"""A run configuration that is saved as JSON beside the run's models."""

import dataclasses
import json

from vidattn.utils.atomic_write import write_json_atomically


class SavedConfiguration:
    """Base of the run configurations: a dataclass kept as JSON in a run.

    A subclass is a `dataclasses.dataclass` whose fields are the run's
    hyperparameters (`vidattn.training.TrainingConfig`,
    `vidattn.training.CaptionTrainingConfig`); this class writes and reads
    them as the `config.json` of the run's folder, beside other entries
    (the data it ran on) that `load` leaves out.
    """

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """The configuration of `values`, which holds only known keys.

        Raises:
            ValueError: for an unknown key (naming the known ones) or an
                invalid value.
        """
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"Expected configuration keys among {sorted(known)}. "
                f"Received unknown keys: {unknown}"
            )
        return cls(**values)

    def save(self, path, **extra):
        """Writes the configuration and `extra` entries as JSON, atomically."""
        write_json_atomically(
            path, dict(self.to_dict(), **extra), indent=2, sort_keys=True
        )

    @classmethod
    def load(cls, path):
        """The configuration saved in `path`, less the other entries."""
        with open(path, encoding="utf-8") as file:
            values = json.load(file)
        known = {field.name for field in dataclasses.fields(cls)}
        return cls.from_dict({k: v for k, v in values.items() if k in known})
