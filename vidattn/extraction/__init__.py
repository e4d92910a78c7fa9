"""Feature extraction: video files in, per-video feature TFRecords out.

- `FeatureExtractor`: the driver, resumable, on one machine; it returns an
  `ExtractionSummary` per split and reports each video as a `VideoResult`.
- The steps it orchestrates: `select_entries` (the videos of a split),
  `decode_entry` / `decode_entries` (decoding and frame sampling, in
  threads), `FrameBatcher` (full backbone batches across videos),
  `SplitRecorder` (writing, `failures.json`), `ExtractionProgress` (the
  progress display).
- `ExtractionFailure`, `write_failures`, `read_failures`: the videos a run
  could not use, as `failures.json` lists them.
- `check_extraction`: whether a run gave what was asked (every split holds
  a video, none failed unless accepted), else `IncompleteExtractionError`.
- `extract_dataset_with_beam`: the same records from an Apache Beam
  pipeline (`pip install "vidattn[beam]"`).

Extraction reads from `vidattn.data` (videos, importers, the record format,
`ShardWriter`) and `vidattn.backbones`; nothing in `vidattn.data` imports it.
"""

from vidattn.extraction.beam_pipeline import extract_dataset_with_beam
from vidattn.extraction.decoding import DecodedVideo
from vidattn.extraction.decoding import decode_entries
from vidattn.extraction.decoding import decode_entry
from vidattn.extraction.entry_selection import select_entries
from vidattn.extraction.extraction_failure import FAILURES_FILENAME
from vidattn.extraction.extraction_failure import ExtractionFailure
from vidattn.extraction.extraction_failure import read_failures
from vidattn.extraction.extraction_failure import write_failures
from vidattn.extraction.extraction_outcome import IncompleteExtractionError
from vidattn.extraction.extraction_outcome import check_extraction
from vidattn.extraction.extraction_progress import ExtractionProgress
from vidattn.extraction.extraction_summary import ExtractionSummary
from vidattn.extraction.feature_extractor import INDEX_FILENAME
from vidattn.extraction.feature_extractor import FeatureExtractor
from vidattn.extraction.frame_batcher import FrameBatcher
from vidattn.extraction.split_recorder import SplitRecorder
from vidattn.extraction.video_result import VideoResult
