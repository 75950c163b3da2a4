"""Terminal rendering of a Verdict: readable by default, colour only on a terminal."""

from __future__ import annotations

import textwrap

from ..verdict import Verdict

_LABEL_TEXT = {
    "outside-in": "OUTSIDE-IN — leads with customer ease",
    "inside-out": "INSIDE-OUT — leads with company motives",
    "mixed": "MIXED — customer ease is there, but company motives lead",
    "not-a-proposal": "NOT A PROPOSAL — nothing to coach",
}
_COLOUR = {"outside-in": "32", "inside-out": "31", "mixed": "33", "not-a-proposal": "90"}


def _style(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def highlight(draft: str, verdict: Verdict, colour: bool) -> str:
    """Return the draft with evidence spans marked: colour on a terminal, [[...]] elsewhere."""
    spans = sorted({(e.start, e.end, e.shows) for e in verdict.evidence if 0 <= e.start < e.end <= len(draft)})
    out, pos = [], 0
    for start, end, shows in spans:
        if start < pos:  # overlapping spans: keep the first
            continue
        out.append(draft[pos:start])
        piece = draft[start:end]
        if colour:
            code = "1;32" if shows == "customer-ease" else "1;31"
            out.append(_style(piece, code, True))
        else:
            out.append(f"[[{piece}]]")
        pos = end
    out.append(draft[pos:])
    return "".join(out)


def format_verdict(draft: str, verdict: Verdict, *, colour: bool = False, width: int = 100) -> str:
    """Human-readable report of one check."""
    lines: list[str] = []
    title = _LABEL_TEXT.get(verdict.label, verdict.label)
    lines.append(_style(title, "1;" + _COLOUR.get(verdict.label, "0"), colour))
    engine = verdict.engine + (f" ({verdict.model})" if verdict.model else "")
    if verdict.cached:
        engine += ", cached"
    sure = f"    confidence: {verdict.confidence:.0%}" if verdict.confidence is not None else ""
    lines.append(f"Customer ease: {verdict.customer_ease}/100{sure}    engine: {engine}    "
                 f"playbook: {verdict.playbook.name} {verdict.playbook.version}")
    if verdict.motives:
        lines.append("Company motives found: " + ", ".join(verdict.motives))
    for note in verdict.notes:
        lines.append(_style(f"Note: {note}", "2", colour))
    if verdict.evidence:
        lines.append("")
        lines.append("Evidence " + ("(green: customer ease, red: company motive):" if colour
                                    else "([[marked]]):"))
        shown = highlight(draft, verdict, colour)
        lines.extend("  " + line for line in shown.splitlines()[:60])
        lines.append("")
        for e in verdict.evidence[:12]:
            lines.append(f"  - \"{e.quote}\" → {e.shows}")
    if verdict.reframe:
        lines.append("")
        lines.append(_style("Try opening with:", "1", colour))
        for para in verdict.reframe.splitlines():
            lines.extend(textwrap.wrap(para, width - 2, initial_indent="  ", subsequent_indent="  ") or [""])
    if verdict.questions:
        lines.append("")
        lines.append(_style("Questions to ask yourself:", "1", colour))
        lines.extend(f"  • {q}" for q in verdict.questions)
    if verdict.measures:
        lines.append("")
        lines.append(_style("Customer-ease measures to consider:", "1", colour))
        lines.extend(f"  • {m}" for m in verdict.measures)
    return "\n".join(lines)
