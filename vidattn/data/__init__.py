"""Data: video decoding, the TFRecord format of features, writers, readers.

- `schema`: the format's fields and constants; `records`: one video as a
  record (encode, decode, parse); `Manifest`: a dataset folder's
  `manifest.json`.
- `ShardWriter` writes a dataset folder, `FeatureDataset` reads it as
  `tf.data` pipelines, `import_hdf5_features` imports the released Theano
  code's files.
- `VideoReader` decodes a video with PyAV; `FrameSampling` says which of its
  frames reach the backbone; `decode_coverage` says whether what decoded is
  the whole video its file declares.
- `vidattn.data.importers`: the published layouts of video datasets.

Feature extraction, which reads videos and writes dataset folders, is
`vidattn.extraction`.
"""

from vidattn.data import records
from vidattn.data import schema
from vidattn.data.feature_dataset import FeatureDataset
from vidattn.data.frame_sampling import FrameSampling
from vidattn.data.hdf5_importer import import_hdf5_features
from vidattn.data.manifest import Manifest
from vidattn.data.manifest import ShardIntegrityError
from vidattn.data.shard_writer import ShardWriter
from vidattn.data.video_reader import VideoDecodeError
from vidattn.data.video_reader import VideoReader
