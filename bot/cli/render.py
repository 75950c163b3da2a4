"""Terminal rendering of a Verdict: readable by default, colour only on a terminal."""

from __future__ import annotations

import re
import textwrap

from .. import diagnosis
from ..verdict import Verdict

_LABEL_TEXT = {
    "outside-in": "OUTSIDE-IN — leads with customer ease",
    "inside-out": "INSIDE-OUT — leads with company motives",
    "mixed": "MIXED — customer ease is there, but company motives lead",
    "not-a-proposal": "NOT A PROPOSAL — nothing to coach",
}
_COLOUR = {"outside-in": "32", "inside-out": "31", "mixed": "33", "not-a-proposal": "90"}


# C0 controls but tab and newline, DEL and C1 controls: a draft holding ESC sequences could retitle the terminal,
# clear it or recolour what follows; shown as a visible symbol instead (ESC as ␛), never sent to the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _symbol(match: re.Match[str]) -> str:
    code = ord(match.group())
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7f else "\ufffd"


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control characters other than tab and newline made visible."""
    return _CONTROL.sub(_symbol, text)


def _style(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def format_verdict(draft: str, verdict: Verdict, *, colour: bool = False, width: int = 100,
                   footer: str | None = None) -> str:
    """Human-readable report of one check: why first, then at most three highlights, the score explained
    once, the reframe as a ready replacement for the opening, then questions and measures; ``footer`` (what
    the offline quick read is) last."""
    verdict = _printable_verdict(verdict)
    lines: list[str] = []
    title = _LABEL_TEXT.get(verdict.label, verdict.label)
    lines.append(_style(title, "1;" + _COLOUR.get(verdict.label, "0"), colour))
    lines.extend(textwrap.wrap(diagnosis.why(verdict), width))
    score = diagnosis.score_line(verdict)
    if score:
        lines.append(score)
    motives = diagnosis.plain_motives(verdict)
    if motives:
        lines.append(motives)
    for note in verdict.notes:
        lines.append(_style(f"Note: {note}", "2", colour))
    marks = diagnosis.highlights(verdict)
    if marks:
        lines.append("")
        lines.append(_style("What leads the draft:", "1", colour))
        for h in marks:
            code = "32" if h.reason == "customer ease" else "31"
            lines.append(f"  • “{_style(h.quote, code, colour)}” — {h.reason}")
        if len(verdict.evidence) > len(marks):
            lines.append(f"  ({len(verdict.evidence) - len(marks)} more in --json)")
    if verdict.reframe:
        lines.append("")
        lines.append(_style("Suggested opening (replace your first lines with this):", "1", colour))
        lines.append("  " + "─" * min(60, width - 2))
        for para in verdict.reframe.splitlines():
            lines.extend(textwrap.wrap(para, width - 2, initial_indent="  ", subsequent_indent="  ") or [""])
        lines.append("  " + "─" * min(60, width - 2))
    if verdict.questions:
        lines.append("")
        lines.append(_style("Questions to ask yourself:", "1", colour))
        lines.extend(f"  • {q}" for q in verdict.questions)
    if verdict.measures:
        lines.append("")
        lines.append(_style("Customer-ease measures to consider:", "1", colour))
        lines.extend(f"  • {m}" for m in verdict.measures)
    engine = verdict.engine + (f" ({verdict.model})" if verdict.model else "")
    if verdict.cached:
        engine += ", cached"
    lines.append("")
    lines.append(_style(f"engine: {engine} · playbook: {verdict.playbook.name} {verdict.playbook.version}", "2",
                        colour))
    if footer:
        lines.extend(_style(line, "2", colour) for line in textwrap.wrap(footer, width))
    return "\n".join(lines)


def _printable_verdict(verdict: Verdict) -> Verdict:
    """A copy whose words (quotes, reframe, questions, measures, notes, names) are safe to print."""
    return verdict.model_copy(update={
        "evidence": [ev.model_copy(update={"quote": printable(ev.quote)}) for ev in verdict.evidence],
        "reframe": printable(verdict.reframe) if verdict.reframe is not None else None,
        "questions": [printable(q) for q in verdict.questions],
        "measures": [printable(m) for m in verdict.measures],
        "notes": [printable(n) for n in verdict.notes],
        "model": printable(verdict.model) if verdict.model is not None else None,
        "playbook": verdict.playbook.model_copy(update={"name": printable(verdict.playbook.name),
                                                         "version": printable(verdict.playbook.version)}),
    })
