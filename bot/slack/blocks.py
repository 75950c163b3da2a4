"""Pure Block Kit builders: every message carries fallback text and stays inside Slack's limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import diagnosis
from ..digest import Digest, adoption, headline, how_the_coach_did, quiet_line, who_read
from ..digest import title as digest_title
from ..verdict import Verdict
from . import mrkdwn

SECTION_MAX = 3000  # characters per section text
TEXT_MAX = 3900  # fallback text (Slack advises < 4,000)
BLOCKS_MAX = 50
HOME_BLOCKS_MAX = 100
QUOTE_MAX = 2000  # characters of the author's own draft shown back to them, in private
BUTTON_VALUE_MAX = 2000  # Slack's limit on a button's value: a longer draft gets only the written hint
AS_PROPOSAL = "mc_as_proposal"  # "Read it as a proposal": the button under a dismissed draft carries the draft
AS_PROPOSAL_REASON = "It is a proposal: read it again as one."  # the decision a press records on the dismissal

LABEL_LINE = {
    "outside-in": ":large_green_circle: *Outside-in* — this leads with customer ease.",
    "inside-out": ":red_circle: *Inside-out* — this leads with company motives.",
    "mixed": ":large_yellow_circle: *Mixed* — customer ease is there, but company motives lead.",
    "not-a-proposal": ":white_circle: *Not a proposal* — nothing to coach here.",
}
# The public thread note: no colour, no score, nothing that reads as a grade in front of colleagues.
KIND_NOTE = {
    "inside-out": "A thought before this lands: readers may connect faster if it opens with what gets easier for "
                  "customers, with the business goal as the result.",
    "mixed": "Nice — the customer benefit is in here. It may land even better if it comes first.",
    "outside-in": "Nice — this leads with what gets easier for customers.",
}
# After an edit the note speaks of the change: only an edit can make a draft "now" lead with customers, or
# leave nothing to coach.
EDIT_NOTE = {
    **KIND_NOTE,
    "outside-in": "Nice — this now leads with what gets easier for customers.",
    "not-a-proposal": "Thanks for the edit — nothing to coach here now.",
}
ANSWERS = {"accepted": "Thanks — the suggested opening is yours to use.",
           "kept-original": "Noted — keeping your version.",
           "disputed": "Thanks for pushing back — that helps the coach learn."}
# A verdict's words (quotes, reframe, questions) are gone once its check is done when drafts are not stored
# (MOTIVECHECK_STORE_TEXT=off), or once retention or forget removed its draft: the buttons say so.
WORDS_NOT_KEPT = "only the verdict is kept once a check is done, not the draft's words"
WHY_WITHOUT_WORDS = (f"_The quotes and questions behind this reading are not kept here ({WORDS_NOT_KEPT}); "
                     "the first answer showed them._")
USE_WITHOUT_WORDS = (f"Thanks — noted. The suggested opening is not kept here ({WORDS_NOT_KEPT}): copy it from "
                     "the message above.")
SHARE_WITHOUT_WORDS = (f"I can't share this one: its suggested opening is not kept here ({WORDS_NOT_KEPT}). Copy it "
                       "from the message above into the thread if you'd like to share it.")


def cut(text: str, limit: int) -> str:
    """Trim mrkdwn to ``limit`` characters at a word boundary, never inside an escape or a link, ending "…"."""
    return mrkdwn.cut(text, limit)


def escape(text: str) -> str:
    """Text as written → mrkdwn: escaped exactly once, mentions and links kept as Slack markup."""
    return mrkdwn.to_mrkdwn(text)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_MAX)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, SECTION_MAX)}]}


def _atoms(draft: str) -> list[tuple[int, int]]:
    return [m.span() for m in mrkdwn.MARKUP.finditer(draft)]


def highlighted(draft: str, verdict: Verdict) -> str:
    """The draft with evidence in bold (company motive) or italics-bold (customer ease); a quote touching a link or
    a mention is left plain (emphasis inside Slack markup would break it), and the draft's own ``**`` marks are
    dropped so nothing is half-converted."""
    atoms = _atoms(draft)
    out, pos = [], 0
    for e in sorted(verdict.evidence, key=lambda e: e.start):
        if e.start < pos or e.end > len(draft) or any(a < e.end and e.start < b for a, b in atoms):
            continue
        piece = mrkdwn.plain_markup(draft[e.start:e.end]).replace("_", " ").strip()
        if not piece:
            continue
        out.append(escape(mrkdwn.plain_markup(draft[pos:e.start])))
        out.append(f"*_{escape(piece)}_*" if e.shows == "customer-ease" else f"*{escape(piece)}*")
        pos = e.end
    out.append(escape(mrkdwn.plain_markup(draft[pos:])))
    return "".join(out)


def _clip_draft(draft: str, limit: int) -> str:
    """The draft as written, cut to ``limit`` at a word boundary outside links, mentions and emoji codes."""
    if len(draft) <= limit:
        return draft
    end = mrkdwn.outside_atoms(draft, limit)
    space = draft.rfind(" ", 0, end + 1)
    return draft[: space if space > end // 2 else end].rstrip() + mrkdwn.ELLIPSIS


def buttons(check_id: int | None, *, share: bool = False, why: bool = True) -> dict[str, Any]:
    value = str(check_id or 0)
    elements = [
        {"type": "button", "action_id": "mc_accept", "value": value, "style": "primary",
         "text": {"type": "plain_text", "text": "Use this reframing"}},
        {"type": "button", "action_id": "mc_keep", "value": value, "text": {"type": "plain_text", "text": "Keep mine"}},
        {"type": "button", "action_id": "mc_disagree", "value": value,
         "text": {"type": "plain_text", "text": "Disagree"}},
    ]
    if why:
        elements.append({"type": "button", "action_id": "mc_why", "value": value,
                         "text": {"type": "plain_text", "text": "Why?"}})
    if share:
        elements.append({"type": "button", "action_id": "mc_share", "value": value,
                         "text": {"type": "plain_text", "text": "Share in thread"}})
    return {"type": "actions", "block_id": f"mc_decide_{value}", "elements": elements}


def confidence_words(confidence: float | None) -> str | None:
    """The engine's confidence as a person would say it."""
    if confidence is None:
        return None
    if confidence >= 0.8:
        return "fairly sure"
    if confidence >= 0.6:
        return "reasonably sure"
    return "not very sure — treat this as a prompt to think, not a verdict"


def build_verdict_message(draft: str, verdict: Verdict, check_id: int | None, *, share: bool = False,
                          change: str | None = None, quick_read: str | None = None) -> dict[str, Any]:
    """The private verdict for the author only: label, score, their draft with evidence, reframe, questions;
    ``quick_read``: what the offline quick read is (the day's first offline reply in a channel)."""
    blocks: list[dict[str, Any]] = [_section(f"{LABEL_LINE[verdict.label]}  Customer ease: *{verdict.customer_ease}/100*"
                                             + (f"  ({escape(change)})" if change else ""))]
    if verdict.evidence:
        quoted = highlighted(_clip_draft(draft, QUOTE_MAX), verdict)
        blocks.append(_section("*What I read:*\n>" + quoted.replace("\n", "\n>")))
    if verdict.reframe:
        blocks.append(_section("*Try opening with:*\n" + escape(verdict.reframe)))
    if verdict.questions:
        blocks.append(_section("*Questions to ask yourself:*\n" + "\n".join(f"• {escape(q)}" for q in verdict.questions)))
    if verdict.measures:
        blocks.append(_section("*Customer-ease measures:*\n" + "\n".join(f"• {escape(m)}" for m in verdict.measures)))
    context = f"engine: {verdict.engine}" + (f" ({verdict.model})" if verdict.model else "")
    context += f" · playbook {verdict.playbook.name} {verdict.playbook.version}"
    sure = confidence_words(verdict.confidence)
    if sure:
        context += f" · {sure}"
    notes = " ".join(verdict.notes)
    blocks.append(_context(escape(f"{context}. {notes}".strip())))
    if quick_read:
        blocks.append(_context(escape(quick_read)))
    if verdict.label == "not-a-proposal":  # an explicit check the coach waved away: one step to have it read
        blocks.append(_context(RESEND_AS_PROPOSAL))
        if draft.strip() and len(draft) <= BUTTON_VALUE_MAX:
            # The draft rides in the button (the author's own words, in their own private message): with the
            # default retention nothing else holds it once the check is done.
            blocks.append({"type": "actions", "block_id": f"{AS_PROPOSAL}_{check_id or 0}", "elements": [
                {"type": "button", "action_id": AS_PROPOSAL, "value": draft,
                 "text": {"type": "plain_text", "text": "Read it as a proposal"}}]})
    if verdict.label in ("inside-out", "mixed"):
        blocks.append(buttons(check_id, share=share))
    text = f"Motive Coach: {verdict.label}, customer ease {verdict.customer_ease}/100."
    if verdict.reframe:
        text += f" Try opening with: {verdict.reframe}"
    return {"text": cut(escape(text), TEXT_MAX), "blocks": blocks[:BLOCKS_MAX]}


def build_thread_note(verdict: Verdict, check_id: int | None, *, edited: bool = False,
                      quick_read: str | None = None, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The public reply under a colleague's post: a short, kind note, the suggested opening and "Why?" (details
    go to whoever asks, in private). No colour, no score, no quote of their draft. ``quick_read`` as in
    ``build_verdict_message``. The opening may reuse the draft's mentions: they notify nobody, people are named from
    ``names`` (user id → name, see ``mrkdwn.quiet``)."""
    note = (EDIT_NOTE if edited else KIND_NOTE).get(verdict.label, "A thought on how this opens.")
    if edited:
        note = "Updated for your edit. " + note
    blocks: list[dict[str, Any]] = [_section(f":bulb: {note}")]
    if verdict.reframe:
        blocks.append(_section("*A possible opening:*\n>"
                               + mrkdwn.quiet(escape(verdict.reframe), names).replace("\n", "\n>")))
    blocks.append(_context("Only the author can use the buttons; *Why?* shows the details to you alone. "
                           f"playbook {escape(verdict.playbook.name)}"))
    if quick_read:
        blocks.append(_context(escape(quick_read)))
    if verdict.reframe:
        blocks.append(buttons(check_id))
    else:  # nothing to use or keep: only the details
        blocks.append({"type": "actions", "block_id": f"mc_decide_{check_id or 0}", "elements": [
            {"type": "button", "action_id": "mc_why", "value": str(check_id or 0),
             "text": {"type": "plain_text", "text": "Why?"}}]})
    text = note + (f" A possible opening: {verdict.reframe}" if verdict.reframe else "")
    return {"text": cut(mrkdwn.quiet(escape(text), names), TEXT_MAX), "blocks": blocks}


def build_draft_modal(channel: str) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": "mc_draft_modal", "private_metadata": channel,
        "title": {"type": "plain_text", "text": "Motive check"},
        "submit": {"type": "plain_text", "text": "Check"},
        "blocks": [{"type": "input", "block_id": "draft", "label": {"type": "plain_text", "text": "Your draft"},
                    "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                "max_length": 3000}}],
    }


DIGEST_NOTICE = {
    True: "Reasons may appear in the weekly leadership digest, unattributed (never with your name).",
    False: "This draft isn't in a public channel, so your reason never appears in the leadership digest.",
}


LABEL_CHOICES = (("outside-in", "Outside-in: leads with customer ease"),
                 ("mixed", "Mixed: a real benefit, but a company goal leads or weighs as much"),
                 ("inside-out", "Inside-out: leads with the company's goals"),
                 ("not-a-proposal", "Not a proposal"))


def build_reason_modal(decision_id: int, action: str, *, public: bool = True) -> dict[str, Any]:
    """The optional reason box, saying plainly where a reason may be read."""
    title = "Keep mine" if action == "kept-original" else "Disagree"
    prompt = "Why keep your version? (optional)" if action == "kept-original" else "What did the coach get wrong? (optional)"
    label_block = []
    if action == "disputed":  # the person's own reading teaches the team's head (motivecheck train --workspace)
        label_block = [{"type": "input", "block_id": "label", "optional": True,
                        "label": {"type": "plain_text", "text": "What is it, in your view?"},
                        "element": {"type": "static_select", "action_id": "value",
                                    "placeholder": {"type": "plain_text", "text": "Choose one"},
                                    "options": [{"text": {"type": "plain_text", "text": text}, "value": value}
                                                for value, text in LABEL_CHOICES]}}]
    return {
        "type": "modal", "callback_id": "mc_reason_modal", "private_metadata": str(decision_id),
        "title": {"type": "plain_text", "text": title}, "submit": {"type": "plain_text", "text": "Send"},
        "blocks": label_block + [{"type": "input", "block_id": "reason", "optional": True,
                    "label": {"type": "plain_text", "text": prompt},
                    "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                "max_length": 1000}},
                   _context(DIGEST_NOTICE[public])],
    }


def build_why(verdict: Verdict, titles: dict[str, str] | None = None, *, words: bool = True) -> str:
    """The details, for whoever asked, in private: the reading, how sure, the evidence, questions; without
    ``words`` (the check's draft is no longer stored, nor its quotes) it says why they are missing."""
    titles = titles or {}
    score = diagnosis.score_line(verdict)
    lines = [f"*{escape(mrkdwn.plain_markup(diagnosis.why(verdict)))}*",
             "Outside-in proposals lead with what gets easier or nicer for customers; company gains follow as "
             "results.",
             f"{LABEL_LINE[verdict.label]}" + (f" {score.split(' · ')[0]}" if score else "")]
    sure = confidence_words(verdict.confidence)
    if sure:
        lines.append(f"How sure the coach is: {sure}.")
    if verdict.motives:
        lines.append("Leads with: " + ", ".join(escape(titles.get(m, m.replace("-", " "))) for m in verdict.motives)
                     + ".")
    for h in diagnosis.highlights(verdict):  # at most three, with a short reason each; the rest stay in JSON
        lines.append(f"• “{escape(mrkdwn.plain_markup(h.quote))}” — {escape(h.reason)}")
    if verdict.questions:
        lines.append("*Questions to ask:*\n" + "\n".join(f"• {escape(q)}" for q in verdict.questions))
    if not words:
        lines.append(WHY_WITHOUT_WORDS)
    return cut("\n".join(lines), SECTION_MAX)


def build_answer(kind: str, reframe: str | None, *, words: bool = True) -> str:
    """What the author is told, privately, after Use / Keep / Disagree (``words`` as for build_why)."""
    if kind == "accepted" and reframe:  # cut like any fallback text: a long reframe, escaped, passed Slack's 40,000
        return cut("Here's the reframing to paste into your draft:\n>" + escape(reframe).replace("\n", "\n>"),
                   TEXT_MAX)
    if kind == "accepted" and not words:
        return USE_WITHOUT_WORDS
    return ANSWERS.get(kind, "")


HOME_START = ("*Nothing checked yet.* Type `/motivecheck` and your draft in any channel for a private read (or just "
              "`/motivecheck` for a bigger box); `/motivecheck help` lists the rest.")


def build_home(checks: list[dict[str, Any]], share: float | None, playbook: str, admin_lines: list[str],
               quick_read: str | None = None) -> dict:
    """App Home: the person's own recent checks (their text as written, escaped once) and, for admins, settings;
    ``quick_read``: what the offline quick read is, when no LLM is configured."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Motive Coach"}},
        _section("Lead with what gets easier or nicer for customers; let company gains follow. "
                 f"Active playbook: *{escape(playbook)}*."),
        *([_context(escape(quick_read))] if quick_read else []),
        # Someone new learns what to type; someone with checks sees their share instead.
        _section(f"*Your outside-in share (last {len(checks)} check{'s' if len(checks) > 1 else ''}):* "
                 + (f"{share:.0%}" if share is not None else "no proposals checked yet")) if checks else
        _section(HOME_START),
    ]
    for row in checks[:10]:
        text = cut(escape(mrkdwn.plain_markup(row.get("draft_text") or "(text not stored)")), 160)
        blocks.append(_section(f"`{row.get('label') or row.get('status')}` {row.get('customer_ease') or 0}/100 — {text}"))
    if admin_lines:
        blocks.append({"type": "divider"})
        blocks.append(_section("*Admin*\n" + "\n".join(admin_lines)))
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS_MAX]}


EXAMPLE_MAX = 300  # characters of a before/after example


def build_digest(d: Digest, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The weekly digest as Block Kit: a header, one section per part (never split on a leading ``*``), every
    person's words escaped once; links are the permalinks ``digest_post`` fetched from Slack. The examples quote
    drafts and reframes: their mentions notify nobody, people are named from ``names`` (see ``mrkdwn.quiet``)."""
    heading = digest_title(d)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": heading[:150]}}]
    if d.quiet:
        quiet = quiet_line(d)
        blocks.append(_section(quiet))
        return {"text": f"{heading}. {quiet}", "blocks": blocks}
    figures = headline(d)
    blocks.append(_section(figures))
    blocks.append(_section(who_read(d)))  # figures and our own words only: nothing to escape
    if d.motives:
        blocks.append(_section("*What led instead of customer ease:* "
                               + ", ".join(f"{escape(m)} ({n})" for m, n in d.motives)))
    if d.adoption:
        lines = []
        for chan, a in d.adoption.items():
            name = "other channels" if chan == "other" else f"<#{chan}>"
            # People's own words, posted in public: whatever markup they typed notifies nobody.
            reasons = "; kept because: " + ", ".join(f"“{mrkdwn.quiet(escape(r))}”" for r in a["reasons"])
            lines.append(f"• {name}: {adoption(a)}{reasons if a['reasons'] else ''}")
        blocks.extend(_section(text) for text in _packed("*Adoption:*", lines))
    blocks.append(_section(how_the_coach_did(d)))  # figures and week labels only: nothing to escape
    for ex in d.examples:
        before, after = (cut(mrkdwn.quiet(escape(ex[k]), names), EXAMPLE_MAX) for k in ("before", "after"))
        author = f" (<@{ex['author']}>)" if ex.get("author") else ""
        link = f"\n<{ex['link']}|See the thread>" if ex.get("link") else ""
        blocks.append(_section(f"*Before:* {before}\n*After:* {after}{author}{link}"))
    blocks.append(_section(f"*Note for the coming week* ({escape(d.note_source)}): {mrkdwn.quiet(escape(d.note))}"))
    blocks.append(_context("Channels are named only when at least 3 people posted there; private channels are "
                           "never named or quoted."))
    return {"text": cut(escape(f"{heading}. {figures}"), TEXT_MAX), "blocks": blocks[:BLOCKS_MAX]}


def _packed(title: str, lines: list[str]) -> list[str]:
    """``title`` and ``lines`` as few section texts as fit SECTION_MAX each, split between lines: a workspace with
    many channels gets every one of them, not a list cut off with "…"."""
    texts = [title]
    for line in lines:
        if len(texts[-1]) + 1 + len(line) > SECTION_MAX:
            texts.append(line)
        else:
            texts[-1] += "\n" + line
    return texts


def build_stats(counts: dict[str, int], used: dict[str, int]) -> str:
    """A person's own numbers: checks by label and what they did with the reframes."""
    proposals = sum(n for label, n in counts.items() if label != "not-a-proposal")
    if not proposals:
        return "No proposals checked yet. Try `/motivecheck <your draft>`."
    share = counts.get("outside-in", 0) / proposals
    return (f"You've checked {proposals} proposal(s): {share:.0%} outside-in, {counts.get('mixed', 0)} mixed, "
            f"{counts.get('inside-out', 0)} inside-out. Reframes used: {used.get('accepted', 0)}, kept yours: "
            f"{used.get('kept-original', 0)}, disagreed: {used.get('disputed', 0)}.")


RESEND_AS_PROPOSAL = ("If it does propose something, press *Read it as a proposal* or send it again as "
                      "`/motivecheck proposal: …` (or start the box's text with `proposal:`) and I'll judge its "
                      "motive.")
HELP = (
    "*Motive Coach* checks whether a draft leads with customer ease (outside-in) or company motives.\n"
    "• `/motivecheck <draft>` — check a draft privately\n"
    "• `/motivecheck` — open a box for a longer draft\n"
    "• `/motivecheck proposal: <draft>` — it is a proposal: judge its motive, never dismiss it\n"
    "• `/motivecheck stats` — your own numbers\n"
    "• `/motivecheck optout` / `optin` — stop or resume checks of your messages\n"
    "• `/motivecheck watch #channel` / `unwatch #channel` — admins: reply to drafts in a channel\n"
    "• `/motivecheck mode thread|private #channel` — admins: reply in thread or privately\n"
    "• `/motivecheck playbook NAME #channel` — admins: use another playbook in a channel\n"
    "• `/motivecheck digest channel #channel` — admins: where the weekly digest goes\n"
    "• `/motivecheck digest time mon 09:00 Europe/Berlin` — admins: when it goes, in your timezone "
    "(`digest time default`: the app's schedule)\n"
    "• `/motivecheck retrain` — admins: teach the coach this workspace's words from the labels people gave\n"
    "A draft that starts with one of these words (\"Help customers…\") is checked like any other draft.\n"
    "Put `[no-coach]` in a message to keep it from being checked."
)
