"""Infrastructure shared by the whole package, written once.

- `atomic_write`, `atomic_output_path`, `write_json_atomically`,
  `publish_file`, `fsync_directory`: files and folders that appear whole
  or not at all, durably (temporary name, fsync, rename, fsync of the
  folder).
- `sha256_file`: the checksum of a file, as the manifests list it.
- `FolderLock`, `FolderLockedError`: one process at a time in a folder.
- `vidattn.utils.arguments`: the checks of constructor and function
  arguments, with "Expected ..., Received: ..." messages.
"""

from vidattn.utils.atomic_write import atomic_output_path
from vidattn.utils.atomic_write import atomic_write
from vidattn.utils.atomic_write import fsync_directory
from vidattn.utils.atomic_write import publish_file
from vidattn.utils.atomic_write import write_json_atomically
from vidattn.utils.checksums import sha256_file
from vidattn.utils.folder_lock import FolderLock
from vidattn.utils.folder_lock import FolderLockedError
