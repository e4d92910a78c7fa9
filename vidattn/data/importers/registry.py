"""Dataset importers by name: the layouts `vidattn extract --dataset` reads.

A name picks an importer: its loader (a `load_<dataset>(root, ...)` function
that returns a `DatasetIndex`), the options the loader takes, and the frame
rule its videos are sampled by unless the user names one. The command
line offers every dataset option to whichever importer the name picks, and
each importer takes only its own, so that adding a dataset is one
`register_importer` call and no command grows an if-chain over names.
"""

import dataclasses
from typing import Callable
from typing import Optional
from typing import Tuple

from vidattn.data.importers.captioned_folder import load_captioned_folder
from vidattn.data.importers.folder import load_folder
from vidattn.data.importers.hmdb51 import load_hmdb51
from vidattn.data.importers.hollywood2 import load_hollywood2
from vidattn.data.importers.msvd import load_msvd
from vidattn.data.importers.ucf11 import load_ucf11

# Frame rules, spelled as `vidattn.data.FrameSampling.parse` reads them.
# Action recognition (thesis ch. 2): a constant 30 frames a second.
ACTION_SAMPLING = "fps=30"
# Video description (thesis §3.2.2): 26 frames evenly spaced over the first
# 240, black frames standing in for those a shorter video lacks.
CAPTION_SAMPLING = "even:26/240"


@dataclasses.dataclass(frozen=True)
class DatasetImporter:
    """A dataset layout that can be read by name.

    Args:
        name: str. The name that picks it (`vidattn extract --dataset`).
        loader: callable. `loader(root, **options)` returns a
            `vidattn.data.importers.DatasetIndex`.
        options: tuple of str. The keyword arguments of `loader` that a
            caller may offer by name (the command line's dataset options).
            Defaults to `()`.
        description: str. One line: the dataset, for help texts. Defaults
            to `""`.
        default_sampling: str. The frame rule (a
            `vidattn.data.FrameSampling` spec) for this dataset when the
            user names none. Defaults to `ACTION_SAMPLING` (`"fps=30"`).
        captions_sampling: `None` or str. The frame rule when the caller
            passes a `captions_path` option (a layout that holds captions
            only when given a captions file). Defaults to `None`:
            `default_sampling` either way.
    """

    name: str
    loader: Callable
    options: Tuple[str, ...] = ()
    description: str = ""
    default_sampling: str = ACTION_SAMPLING
    captions_sampling: Optional[str] = None

    def sampling_for(self, **options):
        """The frame rule for this dataset read with `options`.

        Args:
            **options: dataset options by name, as for `load`.

        Returns:
            A `vidattn.data.FrameSampling` spec (str): `captions_sampling`
            when it is set and `options` name a `captions_path`, else
            `default_sampling`.

        Example:

        >>> import vidattn.data.importers as importers
        >>> importers.get_importer("msvd").sampling_for()
        'even:26/240'
        >>> folder = importers.get_importer("folder")
        >>> folder.sampling_for(), folder.sampling_for(captions_path="c.csv")
        ('fps=30', 'even:26/240')
        """
        if (
            self.captions_sampling is not None
            and options.get("captions_path") is not None
        ):
            return self.captions_sampling
        return self.default_sampling

    def load(self, root, **options):
        """Reads the dataset at `root` with the options this importer takes.

        Args:
            root: str or path-like. The dataset's folder.
            **options: dataset options by name. Those that are not in
                `self.options` are left out, so that a caller can offer the
                same options to every importer.

        Returns:
            A `vidattn.data.importers.DatasetIndex`.
        """
        taken = {
            name: value
            for name, value in options.items()
            if name in self.options
        }
        return self.loader(root, **taken)


_IMPORTERS = {}


def register_importer(
    name,
    loader,
    options=(),
    description="",
    default_sampling=ACTION_SAMPLING,
    captions_sampling=None,
):
    """Makes `loader` the importer that `name` picks.

    Args:
        name: str. The importer's name.
        loader: callable. See `DatasetImporter`.
        options: sequence of str. See `DatasetImporter`. Defaults to `()`.
        description: str. See `DatasetImporter`. Defaults to `""`.
        default_sampling: str. See `DatasetImporter`. Defaults to
            `ACTION_SAMPLING`.
        captions_sampling: `None` or str. See `DatasetImporter`. Defaults
            to `None`.

    Returns:
        The `DatasetImporter` registered.

    Raises:
        ValueError: if `name` is empty or already registered, or `loader`
            is not callable.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"Expected `name` to be a non-empty string. Received: name={name!r}"
        )
    if name in _IMPORTERS:
        raise ValueError(
            f"Expected a new importer name. Received: name={name!r}, which is "
            f"already registered (known: {', '.join(_IMPORTERS)})."
        )
    if not callable(loader):
        raise ValueError(
            f"Expected `loader` to be callable. Received: loader={loader!r}"
        )
    importer = DatasetImporter(
        name,
        loader,
        tuple(options),
        description,
        default_sampling,
        captions_sampling,
    )
    _IMPORTERS[name] = importer
    return importer


def importer_names():
    """The names of the registered importers, in registration order."""
    return tuple(_IMPORTERS)


def get_importer(name):
    """Returns the `DatasetImporter` that `name` picks.

    Args:
        name: str. A registered importer's name (see `importer_names()`).

    Returns:
        A `DatasetImporter`.

    Raises:
        ValueError: if no importer has this name; the message lists the
            known ones.
    """
    if name not in _IMPORTERS:
        raise ValueError(
            "Expected `name` to be the name of a dataset importer, one of "
            f"{', '.join(_IMPORTERS)}. Received: name={name!r}"
        )
    return _IMPORTERS[name]


def load_dataset(name, root, **options):
    """Reads a dataset by its importer's name.

    Args:
        name: str. A registered importer's name, e.g. `"ucf11"`.
        root: str or path-like. The dataset's folder.
        **options: dataset options by name; each importer takes its own
            (see `DatasetImporter.options`) and leaves out the others.

    Returns:
        A `vidattn.data.importers.DatasetIndex`.

    Raises:
        ValueError: if no importer has this name, or the importer refuses
            the dataset.
        FileNotFoundError: if the dataset's files are missing.

    Example:

    ```python
    index = vidattn.data.importers.load_dataset(
        "hmdb51", "/data/hmdb51", split_number=2, missing="skip")
    ```
    """
    return get_importer(name).load(root, **options)


def _load_folder(root, *, captions_path=None, missing="error", **options):
    """`load_folder`, or `load_captioned_folder` given a captions file."""
    if captions_path is None:
        return load_folder(root, **options)
    return load_captioned_folder(
        root, captions_path, missing=missing, **options
    )


register_importer(
    "ucf11", load_ucf11, description="UCF-11 (UCF YouTube Action), 11 classes"
)
register_importer(
    "hmdb51",
    load_hmdb51,
    options=("split_number", "splits_dir", "missing"),
    description="HMDB-51, official splits 1-3, 51 classes",
)
register_importer(
    "hollywood2",
    load_hollywood2,
    options=("train_set", "missing"),
    description="Hollywood2 Human Actions, 12 classes, multi-label",
)
register_importer(
    "msvd",
    load_msvd,
    options=("videos_dir", "captions_path", "mapping_path", "missing"),
    description="MSVD / YouTube2Text, captions",
    default_sampling=CAPTION_SAMPLING,
)
register_importer(
    "folder",
    _load_folder,
    options=("captions_path", "missing", "fractions", "seed"),
    description="your videos, a folder per class; or, with --captions, "
    "in any folders with a captions file",
    captions_sampling=CAPTION_SAMPLING,
)
