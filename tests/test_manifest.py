"""manifest.yml is a valid app manifest that matches what the code listens for."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_manifest_declares_what_the_app_uses():
    m = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert [c["command"] for c in m["features"]["slash_commands"]] == ["/motivecheck"]
    events = set(m["settings"]["event_subscriptions"]["bot_events"])
    assert {"message.channels", "app_home_opened"} <= events
    scopes = set(m["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "channels:history", "users:read", "files:write"} <= scopes
    assert not any(s.endswith(":write") and s.startswith(("channels", "users", "admin")) for s in scopes)
    assert m["settings"]["interactivity"]["is_enabled"] and m["settings"]["socket_mode_enabled"]
    fn = m["functions"]["check_draft"]
    assert set(fn["input_parameters"]) == {"draft", "user_context", "channel"}
    assert fn["input_parameters"]["draft"]["is_required"]
    # The author comes from Slack's user_context (a builder cannot type it), never from a free user-id input.
    assert fn["input_parameters"]["user_context"]["type"] == "slack#/types/user_context"
    assert not fn["input_parameters"]["user_context"]["is_required"]
    assert not fn["input_parameters"]["channel"]["is_required"]
    assert set(fn["output_parameters"]) == {"label", "score", "reframe"}


def test_manifest_follows_slacks_rules_and_the_code():
    """function_executed can't be subscribed (Slack sends it to apps with functions); app_mention is listened
    to, so it is subscribed with its scope; DMs need the Messages tab; the usage hint names every subcommand;
    the command's text comes escaped, so a channel an admin names arrives as <#C123|name>, not a bare #name."""
    from bot.slack.command import SUBCOMMANDS

    m = yaml.safe_load((ROOT / "manifest.yml").read_text())
    events = m["settings"]["event_subscriptions"]["bot_events"]
    assert "function_executed" not in events and "app_mention" in events
    assert "app_mentions:read" in m["oauth_config"]["scopes"]["bot"]
    assert m["features"]["app_home"]["messages_tab_enabled"] is True
    (command,) = m["features"]["slash_commands"]
    assert command["should_escape"] is True
    hint = command["usage_hint"]
    for word in SUBCOMMANDS:
        assert word in hint.split(" ") or f"{word} " in hint, word
    named = {part.split()[0] for part in hint.split("|") if part.strip() and part.split()[0].isalpha()}
    assert named <= set(SUBCOMMANDS) | {"private"}  # the hint names only words the command understands


def test_manifest_is_ready_to_distribute():
    """The redirect URL is the app's own /slack/oauth_redirect, over https; uninstalls and revoked tokens are
    subscribed (the app deletes the tokens), and the install asks for exactly the manifest's bot scopes."""
    from urllib.parse import urlparse

    from bot.slack.oauth import REDIRECT_PATH, manifest_scopes

    m = yaml.safe_load((ROOT / "manifest.yml").read_text())
    urls = [urlparse(u) for u in m["oauth_config"]["redirect_urls"]]
    assert urls and all(u.scheme == "https" and u.path == REDIRECT_PATH for u in urls)
    assert {"app_uninstalled", "tokens_revoked"} <= set(m["settings"]["event_subscriptions"]["bot_events"])
    assert manifest_scopes() == m["oauth_config"]["scopes"]["bot"]
    assert "user" not in m["oauth_config"]["scopes"]  # a bot-only install: no person's token is ever stored
    assert m["settings"]["org_deploy_enabled"] is True
    assert m["settings"]["token_rotation_enabled"] in (True, False)


# The bot scopes each Web API method and event needs (Slack's method and event reference pages). A method that
# takes a channel needs the private channels' scope too: the app watches private channels (message.groups) and
# posts its digest wherever an admin says, so any channel it reads may be private.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth_test": set(), "chat_getPermalink": set(), "views_open": set(), "views_publish": set(),
    "chat_postMessage": {"chat:write"}, "chat_postEphemeral": {"chat:write"}, "chat_update": {"chat:write"},
    "chat_delete": {"chat:write"},
    "conversations_history": {"channels:history", "groups:history"},
    "conversations_replies": {"channels:history", "groups:history"},
    "conversations_info": {"channels:read", "groups:read"},
    "users_info": {"users:read"},
    "files_upload_v2": {"files:write"},
}
EVENT_SCOPES = {"message.channels": {"channels:history"}, "message.groups": {"groups:history"},
                "app_mention": {"app_mentions:read"}, "app_home_opened": set(), "app_uninstalled": set(),
                "tokens_revoked": set()}


def test_every_scope_the_code_needs_is_requested_and_none_more():
    """Scan the code for the Web API methods it calls: each has its scopes in the manifest (a private watched
    channel's name on the digest chart needs groups:read), and the manifest asks for nothing they don't need."""
    import re

    m = yaml.safe_load((ROOT / "manifest.yml").read_text())
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    called = set(re.findall(r"\bclient\.([a-z]+_[A-Za-z0-9_]+)\(", source))
    assert called == set(METHOD_SCOPES), "add a new Web API method's scopes to METHOD_SCOPES"
    events = m["settings"]["event_subscriptions"]["bot_events"]
    needed = {"commands"}.union(*METHOD_SCOPES.values(), *(EVENT_SCOPES[e] for e in events))
    assert set(m["oauth_config"]["scopes"]["bot"]) == needed
