"""Classification metrics for ``motivecheck eval``: pure functions over (expected, predicted) pairs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .verdict import LABELS

NOT = "not-a-proposal"


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
    kinds = [(item["kind"] == "proposal", pred != NOT) for item, pred in zip(items, predicted, strict=True)
             if item.get("kind") in ("proposal", "chatter")]
    if kinds:
        out["slack"] = _channel(kinds)
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


def _reading(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy, macro-F1, mixed F1 and proposals dismissed of (reference, reading) pairs."""
    m = evaluate(pairs)
    proposals = sum(ref != NOT for ref, _ in pairs)
    dismissed = sum(ref != NOT and got == NOT for ref, got in pairs)
    return {"n": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "mixed_f1": m["per_label"]["mixed"]["f1"] if m["per_label"]["mixed"]["support"] else None,
            "proposals": proposals, "dismissed": dismissed}


def second_reading(items: Sequence[dict], predicted: Sequence[str]) -> dict[str, Any] | None:
    """The engine beside a second careful person, on the rows a second labelling pass covers (``second_label``).

    One labelling is not the truth where careful people differ, so the engine is scored against each pass, and
    each pass against the other: the engine reads like a second careful person when its figures against a pass
    match the other pass's. Also the rows both passes agree on, and which pass the engine sides with where they
    differ. None when no scored row has a second label.
    """
    rows = [(item["label"], item["second_label"], pred) for item, pred in zip(items, predicted, strict=True)
            if item.get("second_label")]
    if not rows:
        return None
    out = _second_reading_labels(rows)
    slack = [(item["kind"] == "proposal", item["second_label"] != NOT, pred != NOT)
             for item, pred in zip(items, predicted, strict=True)
             if item.get("second_label") and item.get("kind") in ("proposal", "chatter")]
    if slack:  # in a channel what counts is whether Coach speaks: proposal or chatter, by each pass
        out["slack"] = {"engine_vs_first": _channel([(first, spoke) for first, _, spoke in slack]),
                        "second_vs_first": _channel([(first, second) for first, second, _ in slack]),
                        "engine_vs_second": _channel([(second, spoke) for _, second, spoke in slack]),
                        "first_vs_second": _channel([(second, first) for first, second, _ in slack])}
    return out


def _channel(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    """Proposals caught and chatter spoken on, from (reference says proposal, reading speaks) pairs."""
    props = [spoke for is_prop, spoke in pairs if is_prop]
    chatter = [spoke for is_prop, spoke in pairs if not is_prop]
    return {"proposals": len(props), "chatter": len(chatter),
            "proposals_caught": sum(props) / len(props) if props else 0.0,
            "chatter_spoken_on": sum(chatter) / len(chatter) if chatter else 0.0}


def _second_reading_labels(rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    agreed = [(first, pred) for first, second, pred in rows if first == second]
    disputed = [(first, second, pred) for first, second, pred in rows if first != second]
    return {
        "n": len(rows),
        "engine_vs_first": _reading([(first, pred) for first, _, pred in rows]),
        "second_vs_first": _reading([(first, second) for first, second, _ in rows]),
        "engine_vs_second": _reading([(second, pred) for _, second, pred in rows]),
        "first_vs_second": _reading([(second, first) for first, second, _ in rows]),
        "agreed": _reading(agreed) if agreed else None,
        "disputed": {"n": len(disputed),
                     "sides_with_first": sum(pred == first for first, _, pred in disputed),
                     "sides_with_second": sum(pred == second for _, second, pred in disputed)},
    }


def format_second_reading(s: dict[str, Any]) -> str:
    def row(name: str, ref: str, r: dict[str, Any]) -> str:
        mixed = "–" if r["mixed_f1"] is None else f"{r['mixed_f1']:.2f}"
        return (f"{name:<46}{ref:<13}{r['accuracy']:>9.3f}{r['macro_f1']:>10.3f}{mixed:>10}"
                f"{r['dismissed']:>7} of {r['proposals']}")

    lines = ["", f"beside a second careful person ({s['n']} rows the second labelling pass covers)",
             f"{'reading':<46}{'against':<13}{'accuracy':>9}{'macro-F1':>10}{'mixed F1':>10}  proposals dismissed",
             row("this engine", "first pass", s["engine_vs_first"]),
             row("the second pass (a careful person)", "first pass", s["second_vs_first"]),
             row("this engine", "second pass", s["engine_vs_second"]),
             row("the first pass (a careful person)", "second pass", s["first_vs_second"])]
    if s["agreed"]:
        lines.append(row(f"this engine, {s['agreed']['n']} rows both passes agree on", "both", s["agreed"]))
    d = s["disputed"]
    if d["n"]:
        neither = d["n"] - d["sides_with_first"] - d["sides_with_second"]
        lines.append(f"where the passes differ ({d['n']} rows) this engine sides with the first "
                     f"{d['sides_with_first']} times, the second {d['sides_with_second']}, neither {neither}")
    if "slack" in s:
        names = {"engine_vs_first": "this engine against the first pass",
                 "second_vs_first": "the second pass against the first",
                 "engine_vs_second": "this engine against the second pass",
                 "first_vs_second": "the first pass against the second"}
        lines.append("Slack, proposals caught / chatter spoken on:")
        for key, name in names.items():
            c = s["slack"][key]
            lines.append(f"  {name:<38}{c['proposals_caught']:>5.0%} of {c['proposals']:<4}"
                         f"{c['chatter_spoken_on']:>5.0%} of {c['chatter']}")
    return "\n".join(lines)
