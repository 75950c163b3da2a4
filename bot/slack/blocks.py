"""Pure Block Kit builders: every message carries fallback text and stays inside Slack's limits."""

from __future__ import annotations

from typing import Any

from ..verdict import Verdict

SECTION_MAX = 3000  # characters per section text
TEXT_MAX = 3900  # fallback text (Slack advises < 4,000)
BLOCKS_MAX = 50

LABEL_LINE = {
    "outside-in": ":large_green_circle: *Outside-in* — this leads with customer ease.",
    "inside-out": ":red_circle: *Inside-out* — this leads with company motives.",
    "mixed": ":large_yellow_circle: *Mixed* — customer ease is there, but company motives lead.",
    "not-a-proposal": ":white_circle: *Not a proposal* — nothing to coach here.",
}


def cut(text: str, limit: int, note: str = " …(cut to fit Slack)") -> str:
    """Trim ``text`` to ``limit`` characters at a word boundary, saying so."""
    if len(text) <= limit:
        return text
    room = limit - len(note)
    head = text[:room]
    space = head.rfind(" ", int(room * 0.8))
    return (head[:space] if space > 0 else head) + note


def escape(text: str) -> str:
    """Escape Slack's control characters in user text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_MAX)}}


def highlighted(draft: str, verdict: Verdict) -> str:
    """The draft with evidence in bold (company motive) or italics-bold (customer ease)."""
    out, pos = [], 0
    for e in sorted(verdict.evidence, key=lambda e: e.start):
        if e.start < pos or e.end > len(draft):
            continue
        out.append(escape(draft[pos:e.start]))
        piece = escape(draft[e.start:e.end]).replace("*", "").replace("_", " ")
        out.append(f"*_{piece}_*" if e.shows == "customer-ease" else f"*{piece}*")
        pos = e.end
    out.append(escape(draft[pos:]))
    return "".join(out)


def buttons(check_id: int | None, *, share: bool = False) -> dict[str, Any]:
    value = str(check_id or 0)
    elements = [
        {"type": "button", "action_id": "mc_accept", "value": value, "style": "primary",
         "text": {"type": "plain_text", "text": "Use this reframing"}},
        {"type": "button", "action_id": "mc_keep", "value": value, "text": {"type": "plain_text", "text": "Keep mine"}},
        {"type": "button", "action_id": "mc_disagree", "value": value,
         "text": {"type": "plain_text", "text": "Disagree"}},
        {"type": "button", "action_id": "mc_why", "value": value, "text": {"type": "plain_text", "text": "Why?"}},
    ]
    if share:
        elements.append({"type": "button", "action_id": "mc_share", "value": value,
                         "text": {"type": "plain_text", "text": "Share in thread"}})
    return {"type": "actions", "block_id": f"mc_decide_{value}", "elements": elements}


def build_verdict_message(draft: str, verdict: Verdict, check_id: int | None, *, share: bool = False,
                          change: str | None = None) -> dict[str, Any]:
    """Blocks and fallback text for a verdict: label, score, evidence, reframe, questions, buttons."""
    blocks: list[dict[str, Any]] = [_section(f"{LABEL_LINE[verdict.label]}  Customer ease: *{verdict.customer_ease}/100*"
                                             + (f"  ({change})" if change else ""))]
    if verdict.evidence:
        blocks.append(_section("*What I read:*\n>" + highlighted(cut(draft, 2000), verdict).replace("\n", "\n>")))
    if verdict.reframe:
        blocks.append(_section("*Try opening with:*\n" + escape(verdict.reframe)))
    if verdict.questions:
        blocks.append(_section("*Questions to ask yourself:*\n" + "\n".join(f"• {escape(q)}" for q in verdict.questions)))
    if verdict.measures:
        blocks.append(_section("*Customer-ease measures:*\n" + "\n".join(f"• {escape(m)}" for m in verdict.measures)))
    context = f"engine: {verdict.engine}" + (f" ({verdict.model})" if verdict.model else "")
    context += f" · playbook {verdict.playbook.name} {verdict.playbook.version}"
    notes = " ".join(verdict.notes)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(f"{context}. {notes}".strip(),
                                                                                   SECTION_MAX)}]})
    if verdict.label in ("inside-out", "mixed"):
        blocks.append(buttons(check_id, share=share))
    text = f"Motive Coach: {verdict.label}, customer ease {verdict.customer_ease}/100."
    if verdict.reframe:
        text += f" Try opening with: {verdict.reframe}"
    return {"text": cut(text, TEXT_MAX), "blocks": blocks[:BLOCKS_MAX]}


def build_draft_modal(channel: str) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": "mc_draft_modal", "private_metadata": channel,
        "title": {"type": "plain_text", "text": "Motive check"},
        "submit": {"type": "plain_text", "text": "Check"},
        "blocks": [{"type": "input", "block_id": "draft", "label": {"type": "plain_text", "text": "Your draft"},
                    "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                "max_length": 3000}}],
    }


def build_reason_modal(decision_id: int, action: str) -> dict[str, Any]:
    title = "Keep mine" if action == "kept-original" else "Disagree"
    prompt = "Why keep your version? (optional)" if action == "kept-original" else "What did the coach get wrong? (optional)"
    return {
        "type": "modal", "callback_id": "mc_reason_modal", "private_metadata": str(decision_id),
        "title": {"type": "plain_text", "text": title}, "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [{"type": "input", "block_id": "reason", "optional": True,
                    "label": {"type": "plain_text", "text": prompt},
                    "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                "max_length": 1000}}],
    }


def build_why(verdict: Verdict) -> str:
    lines = ["*Why this verdict?* Outside-in proposals lead with what gets easier or nicer for customers; company "
             "gains follow as results."]
    for e in verdict.evidence[:8]:
        lines.append(f"• “{escape(e.quote)}” shows {'customer ease' if e.shows == 'customer-ease' else e.shows}")
    return cut("\n".join(lines), SECTION_MAX)


def build_home(checks: list[dict[str, Any]], share: float | None, playbook: str, admin_lines: list[str]) -> dict:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Motive Coach"}},
        _section("Lead with what gets easier or nicer for customers; let company gains follow. "
                 f"Active playbook: *{escape(playbook)}*."),
        _section(f"*Your outside-in share (last {len(checks)} checks):* "
                 + (f"{share:.0%}" if share is not None else "no proposals checked yet")),
    ]
    for row in checks[:10]:
        text = escape((row.get("draft_text") or "(text not stored)")[:140])
        blocks.append(_section(f"`{row.get('label') or row.get('status')}` {row.get('customer_ease') or 0}/100 — {text}"))
    if admin_lines:
        blocks.append({"type": "divider"})
        blocks.append(_section("*Admin*\n" + "\n".join(admin_lines)))
    return {"type": "home", "blocks": blocks[:100]}


def build_stats(counts: dict[str, int], used: dict[str, int]) -> str:
    """A person's own numbers: checks by label and what they did with the reframes."""
    proposals = sum(n for label, n in counts.items() if label != "not-a-proposal")
    if not proposals:
        return "No proposals checked yet. Try `/motivecheck <your draft>`."
    share = counts.get("outside-in", 0) / proposals
    return (f"You've checked {proposals} proposal(s): {share:.0%} outside-in, {counts.get('mixed', 0)} mixed, "
            f"{counts.get('inside-out', 0)} inside-out. Reframes used: {used.get('accepted', 0)}, kept yours: "
            f"{used.get('kept-original', 0)}, disagreed: {used.get('disputed', 0)}.")


HELP = (
    "*Motive Coach* checks whether a draft leads with customer ease (outside-in) or company motives.\n"
    "• `/motivecheck <draft>` — check a draft privately\n"
    "• `/motivecheck` — open a box for a longer draft\n"
    "• `/motivecheck stats` — your own numbers\n"
    "• `/motivecheck optout` / `optin` — stop or resume checks of your messages\n"
    "• `/motivecheck watch #channel` / `unwatch #channel` — admins: reply to drafts in a channel\n"
    "• `/motivecheck mode thread|private #channel` — admins: reply in thread or privately\n"
    "• `/motivecheck playbook NAME #channel` — admins: use another playbook in a channel\n"
    "• `/motivecheck digest channel #channel` — admins: where the weekly digest goes\n"
    "Put `[no-coach]` in a message to keep it from being checked."
)
