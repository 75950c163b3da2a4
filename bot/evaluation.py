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


def expected_calibration_error(conf: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by bin size."""
    if not conf:
        return 0.0
    totals: dict[int, list[float]] = {}
    for c, ok in zip(conf, correct, strict=True):
        b = min(int(c * bins), bins - 1)
        t = totals.setdefault(b, [0, 0.0, 0.0])
        t[0] += 1
        t[1] += c
        t[2] += float(ok)
    return sum(abs(s_c - s_ok) for _n, s_c, s_ok in totals.values()) / len(conf)


def breakdown(items: Sequence[dict], predicted: Sequence[str], confidences: Sequence[float | None]) -> dict[str, Any]:
    """Macro-F1 by genre, calibration (when the engine gives confidence) and, for rows with a Slack
    ``kind``, the share of proposals spoken on and of chatter kept quiet."""
    out: dict[str, Any] = {}
    genres: dict[str, list[tuple[str, str]]] = {}
    for item, pred in zip(items, predicted, strict=True):
        if item.get("genre"):
            genres.setdefault(item["genre"], []).append((item["label"], pred))
    if len(genres) > 1:
        out["by_genre"] = {g: {"n": len(p), "macro_f1": evaluate(p)["macro_f1"],
                               "accuracy": sum(a == b for a, b in p) / len(p)} for g, p in sorted(genres.items())}
    known = [(c, item["label"] == pred) for item, pred, c in zip(items, predicted, confidences, strict=True)
             if c is not None]
    if known:
        out["ece"] = expected_calibration_error([c for c, _ in known], [ok for _, ok in known])
        out["mean_confidence"] = sum(c for c, _ in known) / len(known)
    kinds = [(item["kind"], pred != "not-a-proposal") for item, pred in zip(items, predicted, strict=True)
             if item.get("kind") in ("proposal", "chatter")]
    if kinds:
        props = [spoke for kind, spoke in kinds if kind == "proposal"]
        chatter = [spoke for kind, spoke in kinds if kind == "chatter"]
        out["slack"] = {"proposals": len(props), "chatter": len(chatter),
                        "proposals_caught": sum(props) / len(props) if props else 0.0,
                        "chatter_spoken_on": sum(chatter) / len(chatter) if chatter else 0.0}
    return out


def format_breakdown(metrics: dict[str, Any]) -> str:
    lines: list[str] = []
    if "by_genre" in metrics:
        lines += ["", f"{'genre':<20}{'n':>5}{'macro-F1':>10}{'accuracy':>10}"]
        for g, m in metrics["by_genre"].items():
            lines.append(f"{g:<20}{m['n']:>5}{m['macro_f1']:>10.3f}{m['accuracy']:>10.3f}")
    if "ece" in metrics:
        lines += ["", f"calibration: expected calibration error {metrics['ece']:.3f} "
                      f"(mean confidence {metrics['mean_confidence']:.3f}, accuracy {metrics['accuracy']:.3f})"]
    if "slack" in metrics:
        s = metrics["slack"]
        lines += ["", f"Slack: {s['proposals_caught']:.0%} of {s['proposals']} proposals caught, "
                      f"spoke on {s['chatter_spoken_on']:.0%} of {s['chatter']} chatter messages"]
    return "\n".join(lines)


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
