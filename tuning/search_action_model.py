"""Launches `vidattn tune`: a keras-tuner search of the attention model.

    python tuning/search_action_model.py --flagfile tuning/ucf11.flags \\
        --train_data features/train --validation_data features/validation

takes the same flags as `vidattn tune` (see `vidattn tune --help`); the
saved search configurations beside this script (`*.flags`, absl flagfiles)
hold the search spaces: `action_model.flags`, the thesis's, and one per
thesis setting (`ucf11`, `hmdb51`, `hollywood2`, `youtube2text`).
"""

import os
import sys

if __name__ == "__main__":
    # Runs the package of this checkout, installed or not.
    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    from vidattn.cli.main import run

    sys.argv = [sys.argv[0], "tune"] + sys.argv[1:]
    run()
