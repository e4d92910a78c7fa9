import numpy as np
import pytest

import vidattn
from tests.fixtures.command_line import run_vidattn


@pytest.mark.slow
def test_export_writes_numbered_versions_and_lists_the_signatures(tmp_path):
    # EfficientNet-Lite0 at 64x64 gives 2x2x1280 cubes: the model's.
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    model(np.zeros((1, 4, 2, 2, 1280), "float32"))
    model.save(tmp_path / "best.keras")
    base = tmp_path / "exports" / "ucf11"
    arguments = ["--model", str(tmp_path / "best.keras")]
    arguments += ["--export_base", str(base)]
    first = run_vidattn("export", *arguments, "--input_size", "64")
    assert first.returncode == 0, first.stderr
    assert f"SavedModel: {base / '1'}" in first.stdout
    for name in ("video_with_mask", "stream_start", "stream_step"):
        assert f"  {name}\n" in first.stdout
        assert f"  {name}_from_frames\n" in first.stdout
    assert "features: float32 (-1, -1, 2, 2, 1280)" in first.stdout
    assert "frames: uint8 (-1, -1, -1, -1, 3)" in first.stdout
    assert "frame: uint8 (-1, -1, -1, 3)" in first.stdout
    assert "top_k_class_names: string (-1, 3)" in first.stdout
    again = run_vidattn(
        "export", *arguments, "--version", "1", "--noraw_frames"
    )
    assert again.returncode == 1
    assert "Received version 1, which exists" in again.stderr
    captioner_flag = run_vidattn("export", *arguments, "--beam_width", "2")
    assert captioner_flag.returncode == 1
    assert "apply only to captioners" in captioner_flag.stderr
    assert vidattn.export.existing_versions(base) == [1]
