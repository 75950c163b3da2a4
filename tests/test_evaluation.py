"""Metrics behind ``motivecheck eval``."""

from __future__ import annotations

import pytest

from bot.evaluation import agreement, evaluate, format_report, format_second_reading, second_reading


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


def _row(first: str, second: str | None, kind: str | None = None) -> dict:
    row = {"label": first}
    if second:
        row["second_label"] = second
    if kind:
        row["kind"] = kind
    return row


def test_second_reading_scores_the_engine_and_each_pass_against_the_other():
    OI, IO, MX, NP = "outside-in", "inside-out", "mixed", "not-a-proposal"
    items = [_row(OI, OI), _row(IO, IO), _row(MX, IO), _row(IO, NP), _row(NP, NP), _row(OI, None)]
    predicted = [OI, NP, IO, NP, NP, MX]  # the last row has no second label: left out
    s = second_reading(items, predicted)
    assert s["n"] == 5
    assert s["engine_vs_first"]["accuracy"] == pytest.approx(2 / 5)
    assert (s["engine_vs_first"]["dismissed"], s["engine_vs_first"]["proposals"]) == (2, 4)
    assert s["engine_vs_second"]["accuracy"] == pytest.approx(4 / 5)
    assert (s["engine_vs_second"]["dismissed"], s["engine_vs_second"]["proposals"]) == (1, 3)
    # the passes against each other: the same agreement, different dismissals by direction
    assert s["second_vs_first"]["accuracy"] == s["first_vs_second"]["accuracy"] == pytest.approx(3 / 5)
    assert s["second_vs_first"]["dismissed"] == 1 and s["first_vs_second"]["dismissed"] == 0
    assert s["agreed"]["n"] == 3 and s["agreed"]["accuracy"] == pytest.approx(2 / 3)
    assert s["agreed"]["dismissed"] == 1 and s["agreed"]["mixed_f1"] is None  # no mixed row both agree on
    assert s["disputed"] == {"n": 2, "sides_with_first": 0, "sides_with_second": 2}
    text = format_second_reading(s)
    assert "5 rows the second labelling pass covers" in text
    assert "sides with the first 0 times, the second 2, neither 0" in text
    assert "slack" not in s


def test_second_reading_in_a_channel_counts_speaking_by_each_pass():
    items = [_row("inside-out", "not-a-proposal", "proposal"), _row("outside-in", "outside-in", "proposal"),
             _row("not-a-proposal", "not-a-proposal", "chatter"), _row("not-a-proposal", "inside-out", "chatter")]
    s = second_reading(items, ["not-a-proposal", "outside-in", "not-a-proposal", "inside-out"])
    first, second = s["slack"]["engine_vs_first"], s["slack"]["engine_vs_second"]
    assert (first["proposals_caught"], first["chatter_spoken_on"]) == (0.5, 0.5)
    assert (second["proposals_caught"], second["chatter_spoken_on"]) == (1.0, 0.0)
    assert s["slack"]["second_vs_first"]["proposals_caught"] == 0.5
    assert "the second pass against the first" in format_second_reading(s)


def test_no_second_reading_without_second_labels():
    assert second_reading([_row("mixed", None)], ["mixed"]) is None
