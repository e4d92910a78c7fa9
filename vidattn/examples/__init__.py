"""Examples built on the public library, shipped so that commands can run them.

They sit beside the library, not inside its core: nothing in `vidattn`
imports them, and they use only what any user can import.

- `vidattn.examples.demo`: the whole pipeline on rendered videos, from MP4
  files to a SavedModel (`vidattn demo`).
- `vidattn.examples.moving_region_check`: does soft attention learn to look
  where the answer is? Soft attention against average pooling on generated
  feature cubes (`vidattn check`).
"""
