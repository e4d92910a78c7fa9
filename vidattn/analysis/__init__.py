"""What trained models do with videos: the thesis's analysis figures.

- `attend` and `AttentionRecord`: one video through a model, what it
  predicts and where it looks; the input of
  `vidattn.visualization.write_attention_report`.
- `attention_at_frame_rates`: the same video at several frame rates
  (thesis Fig. 2.6).
- `caption_attention_records` and `CaptionAttentionRecord`: videos
  through a captioner, its sentences and where it looks for each word; the
  input of `vidattn.visualization.write_caption_report` (thesis Figs.
  3.2-3.4). `attention_on_cells`: the attention words put on chosen cells.
- `describe_videos`: video files through the backbone and a captioner to
  sentences (`vidattn describe`); `description_record` makes one a
  `CaptionAttentionRecord`.
- `search_glimpse` and `run_glimpse_experiment`: glimpses under which a
  model predicts a chosen class (thesis Fig. 2.8).
- `class_names_of` and `backbone_for`: what a model needs beside it, read
  from the model.
"""

from vidattn.analysis.caption_attention import CaptionAttentionRecord
from vidattn.analysis.caption_attention import attention_on_cells
from vidattn.analysis.caption_attention import caption_attention_records
from vidattn.analysis.fps_study import attention_at_frame_rates
from vidattn.analysis.glimpse_experiment import GlimpseExperiment
from vidattn.analysis.glimpse_experiment import run_glimpse_experiment
from vidattn.analysis.glimpse_search import GlimpseSearchResult
from vidattn.analysis.glimpse_search import search_glimpse
from vidattn.analysis.model_metadata import backbone_for
from vidattn.analysis.model_metadata import class_names_of
from vidattn.analysis.model_metadata import feature_metadata_of
from vidattn.analysis.video_attention import AttentionRecord
from vidattn.analysis.video_attention import attend
from vidattn.analysis.video_description import describe_videos
from vidattn.analysis.video_description import description_record
from vidattn.analysis.video_description import sampling_for
