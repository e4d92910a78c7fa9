"""Importers: the published layouts of video datasets as one list of entries.

Each `load_<dataset>(root, ...)` reads a dataset's folders and split or label
files as published, checks them, and returns a `DatasetIndex` of
`VideoEntry`s (video id, file, split, labels or captions, group) that feature
extraction reads, whatever the dataset. `DatasetIndex.to_json` writes the
index as a JSON file to inspect or edit; `DatasetIndex.from_json` reads it.

| Importer                | Dataset                          | Labels          |
|-------------------------|----------------------------------|-----------------|
| `load_ucf11`            | UCF-11 (UCF YouTube Action)      | 11 classes      |
| `load_hmdb51`           | HMDB-51, official splits 1-3     | 51 classes      |
| `load_hollywood2`       | Hollywood2 Human Actions         | 12, multi-label |
| `load_msvd`             | MSVD / YouTube2Text              | captions        |
| `load_folder`           | your videos, a folder per class  | your classes    |
| `load_captioned_folder` | your videos and a captions file  | your sentences  |

Importers list files only; they decode nothing. `load_dataset(name, root)`
picks an importer by name from a registry (`importer_names()`,
`register_importer`), as `vidattn extract --dataset` does; the registry
also holds each dataset's default frame rule
(`get_importer(name).sampling_for(...)`): the thesis's `even:26/240` for
captioning (MSVD, a folder with a captions file), `fps=30` otherwise.
"""

from vidattn.data.importers._common import SPLITS
from vidattn.data.importers._common import VIDEO_EXTENSIONS
from vidattn.data.importers.captioned_folder import load_captioned_folder
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.folder import load_folder
from vidattn.data.importers.hmdb51 import load_hmdb51
from vidattn.data.importers.hollywood2 import HOLLYWOOD2_ACTIONS
from vidattn.data.importers.hollywood2 import load_hollywood2
from vidattn.data.importers.msvd import load_msvd
from vidattn.data.importers.registry import ACTION_SAMPLING
from vidattn.data.importers.registry import CAPTION_SAMPLING
from vidattn.data.importers.registry import DatasetImporter
from vidattn.data.importers.registry import get_importer
from vidattn.data.importers.registry import importer_names
from vidattn.data.importers.registry import load_dataset
from vidattn.data.importers.registry import register_importer
from vidattn.data.importers.ucf11 import UCF11_ACTIONS
from vidattn.data.importers.ucf11 import load_ucf11
from vidattn.data.importers.video_entry import VideoEntry
