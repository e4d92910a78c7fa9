import json
import os

import pytest

from tests.cli.test_train_evaluate_cli import run
from tests.training.test_caption_training import write_sentence_split


@pytest.fixture(scope="module")
def sentence_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_sentences")
    return (
        write_sentence_split(root / "train", "train", 10, seed=1),
        write_sentence_split(root / "validation", "validation", 4, seed=2),
    )


@pytest.mark.slow
def test_train_task_captioning_chooses_the_best_model_on_bleu_4(
    sentence_data, tmp_path
):
    train_dir, validation_dir = sentence_data
    result = run(
        "train",
        "--task=captioning",
        f"--train_data={train_dir}",
        f"--validation_data={validation_dir}",
        f"--output_dir={tmp_path / 'run'}",
        "--units=16",
        "--embedding_dim=8",
        "--batch_size=4",
        "--epochs=1",
        "--dropout=0",
        "--learning_rate=0.05",
        "--best_metric=BLEU-4",
        "--beam_width=1",
        "--max_length=8",
        "--validation_videos=2",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert (
        f"Best model (validation BLEU-4 {best['value']:.4f}, epoch 1): "
        f"{tmp_path / 'run' / 'best.keras'}"
    ) in result.stdout
    assert "Epoch 1/1: " in result.stdout and "val_CIDEr" in result.stdout
    assert "Final model: " in result.stdout
    assert "TensorBoard: tensorboard --logdir" in result.stdout
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    # Flags left out take the captioning defaults, not the action ones.
    assert saved["attention_penalty"] == 1.0 and saved["model"] == (
        "soft_attention"
    )


@pytest.mark.parametrize(
    "task, flag",
    [("action", "--beam_width=3"), ("captioning", "--window=10")],
)
def test_a_flag_of_the_other_task_is_refused(task, flag, tmp_path):
    result = run(
        "train",
        f"--task={task}",
        "--train_data=/nonexistent/train",
        "--validation_data=/nonexistent/validation",
        f"--output_dir={tmp_path}",
        flag,
    )
    name = flag.split("=")[0]
    other = "captioning" if task == "action" else "action"
    assert result.returncode == 1
    assert (
        f"vidattn train: error: Expected no {name} with --task {task}: it "
        f"sets {other} training only."
    ) in result.stderr
    assert os.listdir(tmp_path) == []
