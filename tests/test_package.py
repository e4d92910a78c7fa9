import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import json, os, sys
# Keras and the backend it imports may set their own variables (TensorFlow's
# logging level when jax is installed too); vidattn sets none.
import keras
before = dict(os.environ)
import vidattn
loaded_eagerly = sorted(
    name for name in ("data", "extraction", "training", "export", "tuning")
    if f"vidattn.{name}" in sys.modules
)
changed = sorted(
    key for key in set(before) | set(os.environ)
    if before.get(key) != os.environ.get(key)
)
print(json.dumps({
    "changed": changed,
    "loaded_eagerly": loaded_eagerly,
    "registered": "vidattn>ActionRecognizer"
    in __import__("keras").saving.get_custom_objects(),
    "lazy": vidattn.extraction.FeatureExtractor.__name__,
}))
"""


def test_import_sets_no_environment_variable_and_loads_the_rest_on_use():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")
    }
    env["PYTHONPATH"] = REPO
    process = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    result = json.loads(process.stdout.strip().splitlines()[-1])
    assert result == {
        "changed": [],
        "loaded_eagerly": [],
        # Models load with keras.models.load_model after `import vidattn`.
        "registered": True,
        "lazy": "FeatureExtractor",
    }
