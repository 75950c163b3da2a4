"""Classification metrics for ``motivecheck eval``: pure functions over (expected, predicted) pairs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .verdict import LABELS


def evaluate(pairs: Iterable[tuple[str, str]], labels: Sequence[str] = LABELS) -> dict[str, Any]:
    """Return accuracy, per-label precision/recall/F1, macro-F1 and the confusion matrix."""
    pairs = list(pairs)
    matrix = {gold: {pred: 0 for pred in labels} for gold in labels}
    for gold, pred in pairs:
        if gold in matrix and pred in matrix[gold]:
            matrix[gold][pred] += 1
    per_label: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = matrix[label][label]
        predicted = sum(matrix[g][label] for g in labels)
        actual = sum(matrix[label].values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    present = [lab for lab in labels if per_label[lab]["support"]]
    macro_f1 = sum(per_label[lab]["f1"] for lab in present) / len(present) if present else 0.0
    correct = sum(1 for gold, pred in pairs if gold == pred)
    return {
        "n": len(pairs),
        "accuracy": correct / len(pairs) if pairs else 0.0,
        "macro_f1": macro_f1,
        "per_label": per_label,
        "confusion": matrix,
        "labels": list(labels),
    }


def agreement(runs: Sequence[Sequence[str]]) -> float:
    """Share of items on which every repeated run gave the same label."""
    if not runs:
        return 1.0
    n = len(runs[0])
    if n == 0:
        return 1.0
    same = sum(1 for i in range(n) if len({run[i] for run in runs}) == 1)
    return same / n


def format_report(metrics: dict[str, Any]) -> str:
    """Plain-text report: headline, per-label table, confusion matrix (rows: expected)."""
    labels = metrics["labels"]
    lines = [f"drafts: {metrics['n']}   accuracy: {metrics['accuracy']:.3f}   "
             f"macro-F1: {metrics['macro_f1']:.3f}", ""]
    lines.append(f"{'label':<16}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}")
    for lab in labels:
        m = metrics["per_label"][lab]
        lines.append(f"{lab:<16}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>8.3f}{m['support']:>9}")
    lines += ["", "confusion (rows: expected, columns: predicted)"]
    short = {"outside-in": "out-in", "inside-out": "in-out", "mixed": "mixed", "not-a-proposal": "not-prop"}
    lines.append(" " * 16 + "".join(f"{short.get(lab, lab):>10}" for lab in labels))
    for gold in labels:
        lines.append(f"{gold:<16}" + "".join(f"{metrics['confusion'][gold][p]:>10}" for p in labels))
    return "\n".join(lines)
