import os
import subprocess
import sys
import textwrap

from vidattn.examples.caption_check import CaptionCheckSettings

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)

# Runs `vidattn check` with the captioning check replaced by a stub that
# prints the settings and output folder it receives.
STUB = textwrap.dedent(
    """
    import sys
    from absl import flags
    import vidattn.examples.caption_check as caption_check
    from vidattn.cli import check

    def fake_run(output_dir, settings, verbose=0):
        print("RUN", output_dir, settings)
        result = {"scores": {"BLEU-4": 0.5}, "examples": [], "seconds": 1.0}
        return {"results": {"first_time_step": result}, "notes": [],
                "seconds": 2.0}

    caption_check.run_caption_check = fake_run
    check.define_flags()
    flags.FLAGS(["vidattn check", *sys.argv[1:]])
    check.main([])
    """
)


def run_check(*args):
    return subprocess.run(
        [sys.executable, "-c", STUB, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=REPO),
        cwd=REPO,
        check=True,
    ).stdout


def test_captioning_takes_the_flags_given_and_its_own_defaults_otherwise():
    out = run_check(
        "--task=captioning", "--epochs=3", "--units=16", "--output_dir=/tmp/x"
    )
    run_line = next(line for line in out.splitlines() if line.startswith("RUN"))
    assert run_line.startswith("RUN /tmp/x CaptionCheckSettings(")
    assert "epochs=3" in run_line and "units=16" in run_line
    # Not given: the captioning check's defaults, not the action check's.
    defaults = CaptionCheckSettings()
    assert f"train_videos={defaults.train_videos}" in run_line
    assert "attention='additive'" in run_line
    assert "(attends at the first word only)" in out
