"""Metrics behind ``motivecheck eval``."""

from __future__ import annotations

import pytest

from bot.evaluation import agreement, evaluate, format_report


def test_perfect_and_confused_predictions():
    perfect = evaluate([("inside-out", "inside-out"), ("outside-in", "outside-in")])
    assert perfect["accuracy"] == 1.0 and perfect["macro_f1"] == 1.0

    m = evaluate([("inside-out", "inside-out"), ("inside-out", "mixed"), ("mixed", "mixed"),
                  ("outside-in", "inside-out")])
    assert m["accuracy"] == pytest.approx(0.5)
    io = m["per_label"]["inside-out"]
    assert io["precision"] == pytest.approx(0.5) and io["recall"] == pytest.approx(0.5)
    assert m["per_label"]["mixed"]["precision"] == pytest.approx(0.5)
    assert m["per_label"]["outside-in"]["f1"] == 0.0
    # macro over the labels present in the gold set only
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)
    assert m["confusion"]["outside-in"]["inside-out"] == 1
    assert "macro-F1: 0.389" in format_report(m)


def test_agreement():
    assert agreement([["a", "b", "c"], ["a", "b", "d"]]) == pytest.approx(2 / 3)
    assert agreement([]) == 1.0
