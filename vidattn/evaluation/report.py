"""The report of an evaluation, as a person reads it."""


def _score(value):
    return "-" if value is None else f"{value:.4f}"


def format_report(report):
    """A report a person reads: the protocol first, then the scores.

    Args:
        report: what `vidattn.evaluation.evaluate_action_model` returns.

    Returns:
        The text, one line per fact, without a final newline.
    """
    protocol, scores = report["protocol"], report["scores"]
    lines = [
        f"Evaluation of {protocol['model']}",
        f"  data: {protocol['data']} (split {protocol['split']}): "
        f"{protocol['videos']} videos, {protocol['windows']} windows",
        f"  protocol: {protocol['window']}-frame windows at "
        f"{protocol['fps']} fps (stored at {protocol['stored_fps']} fps), "
        f"stride {protocol['stride']}; {protocol['aggregation']}",
    ]
    missing = report.get("classes_missing_from_data")
    if missing:
        lines.append(
            "  model classes missing from the data: " + ", ".join(missing)
        )
    if "accuracy" in scores:
        lines.append(f"  accuracy: {scores['accuracy']:.4f}")
        lines.append("  per-class accuracy:")
        for name, value in scores["per_class_accuracy"].items():
            lines.append(f"    {name:<24} {_score(value)}")
        lines.append("  confusion matrix (rows: true, columns: predicted):")
        for name, row in zip(report["class_names"], scores["confusion_matrix"]):
            counts = " ".join(f"{count:4d}" for count in row)
            lines.append(f"    {name:<24} {counts}")
    else:
        lines.append(f"  mAP: {scores['mean_average_precision']:.4f}")
        for name, value in scores["average_precision"].items():
            lines.append(f"    AP {name:<21} {_score(value)}")
    return "\n".join(lines)
