"""The Slack surface as people meet it: text shown as written, coaching (not grading) in public, details in
private, decisions counted once, the reason box's promise, mentions and the DM fallback. Signed requests built
from the payloads in tests/data/slack-fixtures, assertions on the Web API calls FakeSlack recorded."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, urlencode

import pytest
from test_slack import FIXTURES, PREMIUM, RunningApp, settings_for

from bot.digest import compute, shorten
from bot.engines.rules import RulesEngine
from bot.playbook import load_playbook
from bot.slack import mrkdwn
from bot.slack.blocks import build_thread_note, build_verdict_message
from bot.slack.listeners import MENTION_HINT, NOT_YOURS
from bot.text import prepare
from bot.verdict import Evidence, PlaybookRef, Verdict

# A draft as its author wrote it, and as Slack sends it (& < > escaped everywhere, markup kept).
WRITTEN = ("R&D will launch **Premium Plus** to upsell accounts with > 50 seats and lift ARR 15% — ask <@U0ANA> in "
           "<#C0FIN|finance> or read <https://example.com/plan?a=1&b=2|the plan & numbers> :rocket:")
SENT = WRITTEN.replace("&", "&amp;").replace("> 50", "&gt; 50")


def fixture(name: str) -> dict:
    path = FIXTURES / name
    return json.loads(path.read_text())


@pytest.fixture
def running(slack, tmp_path):
    app = RunningApp(settings_for(slack, tmp_path))
    yield app
    app.stop()


def all_text(params: dict) -> str:
    return json.dumps({"text": params.get("text"), "blocks": params.get("blocks")}, ensure_ascii=False)


def assert_escaped_once(out: str) -> None:
    for wrong in ("&amp;amp;", "&amp;gt;", "&amp;lt;", "***", "**", "R&D", "P&L"):
        assert wrong not in out, wrong


def slash_from_fixture(running, slack, text: str, name: str) -> tuple[int, str]:
    form = dict(parse_qsl(fixture("slash_command.bolt.json")["_raw_form_body"]))
    form.update(command="/motivecheck", text=text, response_url=slack.response_url(name))
    return running.post(urlencode(form), "application/x-www-form-urlencoded")


def message_from_fixture(running, text: str, ts: str, event_id: str) -> tuple[int, str]:
    body = fixture("event_message_channel.bolt.json")
    body["event"].update(text=text, ts=ts, event_ts=ts)
    body["event"].pop("blocks", None)
    body["event_id"] = event_id
    return running.post(json.dumps(body), "application/json")


# -- text shown as written ----------------------------------------------------------------------------------
def test_a_slash_draft_round_trips_as_written(running, slack):
    assert slash_from_fixture(running, slack, SENT, "rt")[0] == 200
    assert slack.wait_for(lambda: any(n == "rt" for n, _ in slack.responses))
    msg = next(m for n, m in slack.responses if n == "rt")
    out = all_text(msg)
    assert_escaped_once(out)
    quoted = next(b["text"]["text"] for b in msg["blocks"] if "What I read" in b["text"].get("text", ""))
    for markup in ("<@U0ANA>", "<#C0FIN|finance>", "<https://example.com/plan?a=1&amp;b=2|the plan &amp; numbers>",
                   ":rocket:", "R&amp;D", "&gt; 50"):
        assert markup in quoted, markup
    check = running.deps.store.recent_checks(1)[0]
    assert check["draft_text"] == WRITTEN  # stored as the author wrote it
    assert "&amp;amp;" not in msg["text"] and len(msg["text"]) < 4000


def test_a_channel_message_from_the_fixture_gets_a_kind_note_not_a_grade(running, slack):
    assert message_from_fixture(running, SENT, "1700000500.000100", "EvRT1")[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
    (reply,) = slack.calls("chat.postMessage")
    out = all_text(reply)
    assert reply["thread_ts"] == "1700000500.000100"
    assert_escaped_once(out)
    for grade in (":red_circle:", "/100", "Inside-out", "What I read"):  # no colour or score
        assert grade not in out, grade
    # No re-quote of the draft: the suggested opening reorders some of its sentences, never all of it.
    assert WRITTEN not in out and SENT not in out and "Premium Plus** to upsell accounts with" not in out
    assert "A possible opening" in out and len(reply["text"]) < 600
    actions = [e["action_id"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["mc_accept", "mc_keep", "mc_disagree", "mc_why"]


def test_app_home_shows_drafts_as_written(running, slack):
    running.command(SENT, user="W111", response_url=slack.response_url("h1"))
    assert slack.wait_for(lambda: slack.responses)
    body = fixture("event_app_home_opened_home_tab.slack_docs.json")
    body["team_id"] = "T111"
    body["event"]["user"] = "W111"
    assert running.post(json.dumps(body), "application/json")[0] == 200
    assert slack.wait_for(lambda: slack.calls("views.publish"))
    view = slack.calls("views.publish")[0]["view"]
    out = json.dumps(view, ensure_ascii=False)
    assert_escaped_once(out)
    row = next(b["text"]["text"] for b in view["blocks"] if "R&amp;D" in json.dumps(b))
    assert row.endswith("…") and "<@U0ANA>" in row


def test_app_home_tells_someone_new_how_to_start(running, slack):
    """Day one: a person who never checked a draft opens the Home tab and learns what to type (it said only
    "last 0 checks: no proposals checked yet"); once they have checks, the start line gives way to them."""
    body = fixture("event_app_home_opened_home_tab.slack_docs.json")
    body["team_id"], body["event"]["user"] = "T111", "WNEW"
    assert running.post(json.dumps(body), "application/json")[0] == 200
    assert slack.wait_for(lambda: slack.calls("views.publish"))
    shown = all_text(slack.calls("views.publish")[0]["view"])
    assert "last 0 checks" not in shown
    assert "`/motivecheck` and your draft" in shown and "`/motivecheck help`" in shown
    running.command(PREMIUM, user="WNEW", response_url=slack.response_url("c"))
    assert slack.wait_for(lambda: slack.responses)
    body["event_id"] = "Ev2"
    assert running.post(json.dumps(body), "application/json")[0] == 200
    assert slack.wait_for(lambda: len(slack.calls("views.publish")) == 2)
    shown = all_text(slack.calls("views.publish")[1]["view"])
    assert "Your outside-in share (last 1 check)" in shown and "`/motivecheck` and your draft" not in shown


@pytest.mark.parametrize("text,limit,expected", [
    ("plain words that go on and on", 16, "plain words…"),
    ("R&amp;D &amp; P&amp;L figures", 12, "R&amp;D…"),
    ("see <https://example.com/a-long-path|the plan> now", 20, "see…"),
    ("*bold words here* and more", 14, "bold words…"),
    ("short", 10, "short"),
])
def test_cuts_keep_words_escapes_and_links_whole(text, limit, expected):
    out = mrkdwn.cut(text, limit)
    assert out == expected and len(out) <= limit


def test_a_cut_never_leaves_half_an_emoji_code():
    """The draft quoted back, the digest's examples and mrkdwn cuts stop before an emoji code the limit falls
    inside ("…launch:rocke…" showed before); a draft with no space near the limit is where it showed."""
    draft = "Premium Plus " + "x" * 1980 + "launch:rocket:done and more words"
    v = Verdict(label="inside-out", customer_ease=10, engine="rules", playbook=PlaybookRef(name="p", version="1"),
                evidence=[Evidence(quote="Premium Plus", start=0, end=12, shows="upsell-crosssell")])
    quoted = next(b["text"]["text"] for b in build_verdict_message(draft, v, 1)["blocks"] if "What I read" in json.dumps(b))
    assert quoted.endswith("launch…") and ":rock" not in quoted
    example = "Premium Plus " + "x" * 280 + "go:rocket:now and more"
    assert shorten(example).endswith("go…")
    assert mrkdwn.cut("ok:rocket:now", 9) == "ok…"


def test_control_characters_and_bidi_overrides_never_reach_slack():
    """A draft pasted with a NUL, a terminal colour code or a right-to-left override: the coach's quote of it, its
    reframe and the public thread note carry none of them (Slack would show the text reordered or boxed); the
    draft's words are still all there."""
    draft = ("We\x00 will \x1b[31mlaunch\x1b[0m Premium Plus\u202e to upsell\x85 existing accounts and \u2066lift"
             "\u2069 ARR 15% this quarter.\r\nThoughts?\x7f")
    verdict = RulesEngine(load_playbook("outside-in")).assess(prepare(draft)).verdict
    assert verdict.reframe and verdict.evidence
    posted = [build_verdict_message(draft, verdict, 1), build_thread_note(verdict, 1)]
    out = json.dumps(posted, ensure_ascii=False)
    unseen = [c for c in out if ord(c) < 0x20 and c not in "\n\t" or 0x7f <= ord(c) <= 0x9f
              or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069]
    assert unseen == [], unseen
    assert "Premium Plus" in out and "[31mlaunch" in out and "ARR 15% this quarter" in out


@pytest.mark.parametrize("written,shown", [
    ("**Premium Plus** now", "*Premium Plus* now"),
    ("***Premium* Plus**", "*Premium Plus*"),
    ("a ** b", "a  b"),
    ("P&L > 5 <@U1> <#C1|x> <!here> :tada:", "P&amp;L &gt; 5 <@U1> <#C1|x> <!here> :tada:"),
    ("<finance> & <b>", "&lt;finance&gt; &amp; &lt;b&gt;"),
])
def test_markdown_and_escapes_go_out_once(written, shown):
    assert mrkdwn.to_mrkdwn(written) == shown
    assert mrkdwn.unescape(mrkdwn.escape(written)) == written


def test_evidence_never_breaks_a_link_or_half_converts_bold():
    draft = "Read <https://x.io/p|Premium Plus> then **Premium Plus** to upsell"
    start = draft.index("Premium Plus")
    second = draft.index("Premium Plus", start + 5)
    v = Verdict(label="inside-out", customer_ease=10, engine="rules", playbook=PlaybookRef(name="p", version="1"),
                evidence=[Evidence(quote="Premium Plus", start=start, end=start + 12, shows="upsell-crosssell"),
                          Evidence(quote="Premium Plus", start=second, end=second + 12, shows="upsell-crosssell")])
    quoted = json.dumps(build_verdict_message(draft, v, 1)["blocks"])
    assert "<https://x.io/p|Premium Plus>" in quoted and "*Premium Plus*" in quoted and "***" not in quoted


@pytest.mark.parametrize(("draft", "button"), [("Thanks all, see you Monday <@U123> :wave:", True),
                                               ("word " * 400, True), ("word " * 401, False), ("   ", False)])
def test_a_dismissal_carries_its_draft_in_a_button_only_where_slack_allows(draft, button):
    """Slack takes at most 2,000 characters as a button's value: a longer draft keeps only the written hint."""
    v = Verdict(label="not-a-proposal", customer_ease=0, engine="rules", playbook=PlaybookRef(name="p", version="1"))
    shown = build_verdict_message(draft, v, 1)["blocks"]
    values = [e["value"] for b in shown if b["type"] == "actions" for e in b["elements"]]
    assert values == ([draft] if button else [])
    assert "/motivecheck proposal:" in json.dumps(shown)
    judged = build_verdict_message(draft, v.model_copy(update={"label": "outside-in"}), 1)["blocks"]
    assert draft.strip() == "" or not any(e.get("value") == draft for b in judged if b["type"] == "actions"
                                          for e in b["elements"])


# -- coaching, not grading; decisions; the reason box ----------------------------------------------------------
def thread_check(running, slack) -> int:
    running.event({"type": "message", "channel": "C111", "user": "U222", "text": PREMIUM, "ts": "1700000600.000100",
                   "channel_type": "channel"}, "EvC1")
    assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
    return int(slack.calls("chat.postMessage")[0]["blocks"][-1]["elements"][0]["value"])


def test_only_the_author_decides_once_and_the_digest_counts_once(running, slack):
    check_id = thread_check(running, slack)
    running.action("mc_accept", check_id, response_url=slack.response_url("x"), user="U999")  # a colleague
    assert slack.wait_for(lambda: any(n == "x" for n, _ in slack.responses))
    refusal = next(m for n, m in slack.responses if n == "x")
    assert refusal["text"] == NOT_YOURS and refusal["response_type"] == "ephemeral"
    for name in ("a1", "a2"):  # the author double-clicks
        running.action("mc_accept", check_id, response_url=slack.response_url(name), user="U222")
    assert slack.wait_for(lambda: sum(n in ("a1", "a2") for n, _ in slack.responses) == 2)
    decisions = running.deps.store.decisions_for(check_id)
    assert [(d["action"], d["user"]) for d in decisions] == [("accepted", "U222")]
    check = running.deps.store.get_check(check_id)
    year, week = time.gmtime(check["ts"])[0], int(time.strftime("%V", time.gmtime(check["ts"])))
    d = compute(running.deps.store, "T111", year, week, "UTC")
    assert sum(a["used"] for a in d.adoption.values()) <= 1


def test_why_gives_details_in_private(running, slack):
    check_id = thread_check(running, slack)
    running.action("mc_why", check_id, response_url=slack.response_url("why"), user="U222")
    assert slack.wait_for(lambda: any(n == "why" for n, _ in slack.responses))
    why = next(m for n, m in slack.responses if n == "why")
    assert why["response_type"] == "ephemeral" and why["replace_original"] is False
    assert "/100" in why["text"] and "How sure" in why["text"]  # the score lives here, asked for, in private
    assert "up-sell and cross-sell current customers" in why["text"] and "upsell-crosssell" not in why["text"]


@pytest.mark.parametrize("where,promise", [("channel", "unattributed"), ("slash", "never appears")])
def test_the_reason_box_says_where_reasons_may_appear(running, slack, where, promise):
    if where == "channel":
        check_id = thread_check(running, slack)
        user = "U222"
    else:
        running.command(PREMIUM, response_url=slack.response_url("s"))
        assert slack.wait_for(lambda: slack.responses)
        check_id, user = running.deps.store.recent_checks(1)[0]["id"], "U111"
    running.action("mc_keep", check_id, response_url=slack.response_url("k"), user=user)
    assert slack.wait_for(lambda: slack.calls("views.open"))
    modal = slack.calls("views.open")[0]["view"]
    notice = json.dumps(modal["blocks"][-1])
    assert promise in notice and "digest" in notice


# -- mentions and the DM fallback --------------------------------------------------------------------------
def test_a_mention_gets_a_private_hint(running, slack):
    body = fixture("event_app_mention.bolt.json")
    assert running.post(json.dumps(body), "application/json")[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.postEphemeral"))
    (hint,) = slack.calls("chat.postEphemeral")
    assert hint["user"] == "W222" and hint["channel"] == "C111" and "thread_ts" not in hint
    assert hint["text"] == MENTION_HINT


def test_the_modal_falls_back_to_a_dm_in_the_messages_tab(running, slack):
    slack.fail("chat.postEphemeral", 200, {"ok": False, "error": "not_in_channel"})
    values = {"draft": {"text": {"type": "plain_text_input", "value": WRITTEN}}}
    assert running.submit_view("mc_draft_modal", values, "C999")[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
    (dm,) = slack.calls("chat.postMessage")
    assert dm["channel"] == "U111"  # the app's DM: the manifest turns the Messages tab on for this
    assert_escaped_once(all_text(dm))


def test_a_first_note_on_an_outside_in_post_does_not_say_now():
    """Only an edit can make a post "now" lead with customers; a first reply just says that it does."""
    verdict = Verdict(label="outside-in", customer_ease=80, engine="rules",
                      playbook=PlaybookRef(name="outside-in", version="1"))
    first, edit = build_thread_note(verdict, 1)["text"], build_thread_note(verdict, 1, edited=True)["text"]
    assert "leads with what gets easier" in first and " now " not in first
    assert edit.startswith("Updated for your edit.") and "now leads with what gets easier" in edit


def test_an_edit_that_now_leads_with_customers_gets_a_warm_update(running, slack):
    check_id = thread_check(running, slack)
    assert slack.wait_for(lambda: running.deps.store.get_check(check_id)["reply_ts"])
    edited = {"type": "message", "subtype": "message_changed", "channel": "C111", "hidden": True,
              "ts": "1700000601.000100",
              "message": {"type": "message", "user": "U222", "ts": "1700000600.000100",
                          "edited": {"user": "U222", "ts": "1700000601.000100"},
                          "text": "Customers tell us exports are painful. Let's add scheduled exports so they don't "
                                  "have to do it by hand; if it works we expect ARR to grow as a result."}}
    running.event(edited, "EvC2")
    assert slack.wait_for(lambda: slack.calls("chat.update"))
    (update,) = slack.calls("chat.update")
    out = all_text(update)
    assert "Updated for your edit" in out and "/100" not in out and ":red_circle:" not in out
    if running.deps.store.get_check(check_id)["label"] == "outside-in":
        assert "now leads with what gets easier" in out and "mc_accept" not in out
