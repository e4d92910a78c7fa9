"""Synthetic datasets whose right answer, and where to look for it, are known.

- `vidattn.datasets.moving_region`: feature cubes in which one marked region
  wanders over the grid and decides the class (the learning check of the
  attention mechanism).
- `vidattn.datasets.rendered_moving_region`: the same task drawn as real
  video (coloured shapes, one inside a moving white ring), written as MP4
  files for the demo.
- `vidattn.datasets.rendered_captions`: rendered videos of a few coloured
  shapes that move or stay still, with templated sentences that name each
  one (the captioning learning check).
"""

from vidattn.datasets.moving_region import MovingRegionVideos
from vidattn.datasets.moving_region import attention_on_region
from vidattn.datasets.moving_region import generate_moving_region_videos
from vidattn.datasets.rendered_captions import COLOURS
from vidattn.datasets.rendered_captions import RenderedCaptionVideos
from vidattn.datasets.rendered_captions import attention_on_named_objects
from vidattn.datasets.rendered_captions import describe_objects
from vidattn.datasets.rendered_captions import render_caption_videos
from vidattn.datasets.rendered_moving_region import RenderedVideos
from vidattn.datasets.rendered_moving_region import render_moving_region_videos
from vidattn.datasets.rendered_moving_region import write_video
