"""SavedModel export for TF Serving."""

from vidattn.export.saved_model_exporter import export_action_model
from vidattn.export.saved_model_exporter import export_metadata
from vidattn.export.saved_model_exporter import export_video_captioner
from vidattn.export.saved_model_exporter import read_export_metadata
