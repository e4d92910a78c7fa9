import json

import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures.caption_datasets import write_captioned_dataset
from tests.fixtures.command_line import run_vidattn as run
from tests.fixtures.feature_datasets import write_split
from vidattn.datasets import generate_moving_region_videos


def _save_captioner(root, train_steps):
    write_captioned_dataset(root / "test")
    data = vidattn.data.FeatureDataset(str(root / "test"))
    keras.utils.set_random_seed(3)
    tokenizer = vidattn.training.build_caption_tokenizer(data)
    model = vidattn.models.VideoCaptioner(
        tokenizer,
        units=32,
        embedding_dim=16,
        attention="additive",
        dropout=0.0,
        attention_penalty=0.0,
        weight_decay=0.0,
        seed=3,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.03))
    batches = vidattn.training.caption_batches(
        data, tokenizer, batch_size=16, shuffle=False
    )
    # Trained until each sentence repeats one of its video's references.
    inputs = {key: value.numpy() for key, value in next(iter(batches)).items()}
    for _ in range(train_steps):
        model.train_on_batch(inputs)
    model.save(root / "captioner.keras")
    return str(root / "captioner.keras"), str(root / "test")


@pytest.fixture(scope="module")
def captioner(tmp_path_factory):
    return _save_captioner(tmp_path_factory.mktemp("captioner_cli"), 120)


@pytest.mark.slow
def test_a_captioner_that_repeats_references_scores_bleu_4_of_100(
    captioner, tmp_path
):
    model_path, data_dir = captioner
    report_path = tmp_path / "test_report.json"
    result = run(
        "evaluate",
        f"--model={model_path}",
        f"--data={data_dir}",
        "--metrics=bleu,rouge_l,cider",
        "--max_length=10",
        f"--report={report_path}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "decoding: beam search of width 4, at most 10 words" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["model"] == model_path
    for name, value in report["scores"].items():
        assert f"    {name:<8} {100 * value:6.2f}" in result.stdout
    # Every n-gram of every sentence matches a reference, and the closest
    # reference length is the sentence's own.
    for name in ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L"):
        assert f"    {name:<8} 100.00" in result.stdout
        assert report["scores"][name] == pytest.approx(1.0, abs=1e-6)
    # Without --results, the sentences go beside the report.
    results = json.loads((tmp_path / "test_report.results.json").read_text())
    assert results == [
        {"image_id": video_id, "caption": entry["sentence"]}
        for video_id, entry in report["sentences"].items()
    ]
    assert len(results) == 5


def test_an_action_flag_with_a_captioner_is_refused(tmp_path):
    model_path, data_dir = _save_captioner(tmp_path, train_steps=0)
    result = run(
        "evaluate", f"--model={model_path}", f"--data={data_dir}", "--window=6"
    )
    assert result.returncode == 1
    assert (
        f"{model_path} is a captioner, and --window apply only to action "
        "models" in result.stderr
    )


def test_a_captioning_flag_with_an_action_model_is_refused(tmp_path):
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    model(np.zeros((1, 4, 2, 2, 8), "float32"))
    model.save(tmp_path / "action.keras")
    videos = generate_moving_region_videos(2, frames=4, seed=1)
    data_dir = write_split(tmp_path / "test", videos, "test")
    result = run(
        "evaluate",
        f"--model={tmp_path / 'action.keras'}",
        f"--data={data_dir}",
        "--beam_width=2",
        f"--results={tmp_path / 'results.json'}",
    )
    assert result.returncode == 1
    assert "is an action model, and --beam_width, --results apply only to " in (
        result.stderr
    )
