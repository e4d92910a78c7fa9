"""Data: video decoding, the TFRecord schema of per-video features, writers and readers."""

from vidattn.data import schema
from vidattn.data.feature_dataset import FeatureDataset
from vidattn.data.feature_extractor import FeatureExtractor
from vidattn.data.feature_extractor import FrameSampling
from vidattn.data.hdf5_importer import import_hdf5_features
from vidattn.data.shard_writer import ShardWriter
from vidattn.data.video_reader import VideoDecodeError
from vidattn.data.video_reader import VideoReader
