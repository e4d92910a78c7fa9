"""The videos a run could not use, and `failures.json`, which lists them."""

import dataclasses
import json
import os

from vidattn.utils.atomic_write import write_json_atomically

FAILURES_FILENAME = "failures.json"
"""The file, in a split's folder, that lists the videos a run could not use."""

_FAILURES_FORMAT = "vidattn.ExtractionFailures"


@dataclasses.dataclass(frozen=True)
class ExtractionFailure:
    """A video that could not be used, and why.

    Attributes:
        video_id: str.
        path: str. The video file.
        reason: str. What went wrong, in words.
    """

    video_id: str
    path: str
    reason: str

    def to_json(self):
        """The failure as a JSON object (a dict of its three fields)."""
        return dataclasses.asdict(self)


def write_failures(directory, split, failures):
    """Writes `<directory>/failures.json` atomically.

    Args:
        directory: str. The split's dataset folder.
        split: str. Named in the file.
        failures: sequence of `ExtractionFailure`.

    Returns:
        The path written, a str.
    """
    document = {
        "format": _FAILURES_FORMAT,
        "split": split,
        "num_failures": len(failures),
        "failures": [failure.to_json() for failure in failures],
    }
    return write_json_atomically(
        os.path.join(directory, FAILURES_FILENAME), document, indent=1
    )


def read_failures(directory):
    """Reads the `failures.json` of a split's folder.

    Args:
        directory: str. The split's dataset folder.

    Returns:
        A list of `ExtractionFailure` (empty when the file is missing).
    """
    path = os.path.join(directory, FAILURES_FILENAME)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as file:
        document = json.load(file)
    return [ExtractionFailure(**item) for item in document["failures"]]
