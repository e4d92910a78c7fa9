"""SavedModel export for TF Serving."""

from vidattn.export.action_signatures import action_signatures
from vidattn.export.action_signatures import window_settings
from vidattn.export.archive_writer import write_export
from vidattn.export.caption_signatures import caption_signatures
from vidattn.export.export_layout import existing_versions
from vidattn.export.export_layout import version_directory
from vidattn.export.export_metadata import export_metadata
from vidattn.export.export_metadata import read_export_metadata
from vidattn.export.model_export import export_model
from vidattn.export.raw_frame_signatures import add_raw_frame_endpoints
from vidattn.export.raw_frame_signatures import frame_features
from vidattn.export.raw_frame_signatures import raw_frame_endpoint_adder
from vidattn.export.saved_model_exporter import export_action_model
from vidattn.export.saved_model_exporter import export_video_captioner
from vidattn.export.serving_input_checks import check_serving_inputs
from vidattn.export.serving_signature import ServingSignature
from vidattn.export.signature_summary import signature_summary
from vidattn.export.streaming_signatures import STATE_NAMES
from vidattn.export.streaming_signatures import add_streaming_endpoints
from vidattn.export.streaming_signatures import stream_start
from vidattn.export.streaming_signatures import stream_step
from vidattn.export.streaming_signatures import streaming_signatures
from vidattn.export.video_windows import cut_video_windows
