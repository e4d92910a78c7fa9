"""What happened to one video of an extraction run."""

import dataclasses
from typing import Optional


@dataclasses.dataclass(frozen=True)
class VideoResult:
    """What happened to one video; passed to the `on_video` callback.

    Attributes:
        video_id: str.
        path: str.
        written: bool. Whether the video's features were written.
        num_frames: int. Frames stored (0 when not written).
        reason: str or None. Why the video was skipped, when it was.
    """

    video_id: str
    path: str
    written: bool
    num_frames: int = 0
    reason: Optional[str] = None
