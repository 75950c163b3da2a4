"""Installs to many workspaces through Bolt's OAuth flow, against the Slack stand-in: signed requests in, every
Web API call (oauth.v2.access included) out to the loopback stand-in, tokens in the app's own database."""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import yaml
from slack_server import FakeSlack
from test_slack import SECRET, RunningApp

from bot.config import load_settings
from bot.errors import ConfigError
from bot.logs import scrub
from bot.slack.app import validate_slack_settings
from bot.slack.oauth import StoreInstallations, StoreOAuthStates
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID, CLIENT_SECRET = "1111.2222", "oauth-client-secret-0123456789"


def oauth_settings(slack: FakeSlack, tmp_path: Path, *, database: str | None = None, **env: str):
    base = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url}
    base.update(env)
    return load_settings(env=base, db_path=database or str(tmp_path / "oauth.db"))


@pytest.fixture
def oauth_slack():
    with FakeSlack(admins={"UADMIN"}) as s:
        s.client_id, s.client_secret = CLIENT_ID, CLIENT_SECRET
        yield s


@pytest.fixture
def app(oauth_slack, tmp_path, database):
    running = RunningApp(oauth_settings(oauth_slack, tmp_path, database=database))
    yield running
    running.stop()


def start_install(app: RunningApp) -> tuple[str, str]:
    """Open /slack/install as a browser would: the Add to Slack link's state, and the cookie set with it."""
    code, page, headers = app.get("/slack/install")
    assert code == 200
    link = html.unescape(re.search(r'<a href="([^"]+)"', page).group(1))
    state = parse_qs(urlparse(link).query)["state"][0]
    cookie = headers["Set-Cookie"].split(";")[0]
    return state, cookie


def install(app: RunningApp, slack: FakeSlack, team: str, token: str, code: str | None = None, **grant) -> str:
    """The whole flow for one workspace: install page, Slack's redirect with a code, the exchange."""
    state, cookie = start_install(app)
    code = code or f"code-{team}"
    slack.grant(code, team, token, **grant)
    status, page, _ = app.get("/slack/oauth_redirect?" + urlencode({"code": code, "state": state}),
                              {"Cookie": cookie})
    assert status == 200, page
    return page


def eventually(predicate, timeout: float = 5.0) -> bool:
    """Listeners run after the ack: wait (briefly) for what they do."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def home_opened(app: RunningApp, team: str, user: str = "U111", event_id: str = "EvH") -> int:
    return app.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"},
                     event_id=event_id, team=team)[0]


def test_the_install_page_asks_for_the_manifests_scopes_with_a_state_bound_to_the_browser(app):
    code, page, headers = app.get("/slack/install")
    assert code == 200 and "Add to Slack" in page
    link = urlparse(html.unescape(re.search(r'<a href="([^"]+)"', page).group(1)))
    query = parse_qs(link.query)
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"][0].split(",") == manifest["oauth_config"]["scopes"]["bot"]
    assert headers["Set-Cookie"].startswith(f"slack-app-oauth-state={query['state'][0]};")
    assert "HttpOnly" in headers["Set-Cookie"]


def test_an_install_exchanges_the_code_at_slack_api_url_and_stores_the_bot(app, oauth_slack):
    page = install(app, oauth_slack, "TAAA", "xoxb-aaa-1")
    assert "Thank you" in page
    (credentials, exchange), = oauth_slack.calls_with_token("oauth.v2.access")
    assert exchange["code"] == "code-TAAA" and credentials == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert ("xoxb-aaa-1", {}) in oauth_slack.calls_with_token("auth.test")  # the new token, checked once
    bot = app.deps.store.find_bot("", "TAAA")
    assert bot["bot_token"] == "xoxb-aaa-1" and bot["bot_user_id"] == "UBOTTAAA" and bot["bot_id"] == "BTAAA"
    assert app.deps.store.find_installation("", "TAAA")["user_id"] == "UINSTALLER"
    # The workspace's requests now run with its token: App Home is published with it.
    assert home_opened(app, "TAAA") == 200
    assert oauth_slack.wait_for(lambda: oauth_slack.calls("views.publish"))
    assert oauth_slack.calls_with_token("views.publish")[0][0] == "xoxb-aaa-1"


def test_a_state_works_once_and_only_in_the_browser_that_started_the_install(app, oauth_slack):
    state, cookie = start_install(app)
    oauth_slack.grant("code-1", "TAAA", "xoxb-aaa-1")
    redirect = "/slack/oauth_redirect?" + urlencode({"code": "code-1", "state": state})
    assert app.get(redirect)[0] == 400  # no cookie: another browser
    assert app.get(redirect, {"Cookie": "slack-app-oauth-state=forged"})[0] == 400
    assert app.get(redirect, {"Cookie": cookie})[0] == 200
    oauth_slack.grant("code-2", "TBBB", "xoxb-bbb-1")
    again = "/slack/oauth_redirect?" + urlencode({"code": "code-2", "state": state})
    assert app.get(again, {"Cookie": cookie})[0] == 401  # the state was used up
    assert app.deps.store.find_bot("", "TBBB") is None


def test_a_state_expires(database):
    store = Store(database)

    async def run() -> tuple[bool, bool, bool]:
        fresh, stale = StoreOAuthStates(store), StoreOAuthStates(store, expiration_seconds=-1)
        good, old = await fresh.async_issue(), await stale.async_issue()
        return await stale.async_consume(old), await fresh.async_consume(good), await fresh.async_consume(good)

    assert asyncio.run(run()) == (False, True, False)


def test_a_code_slack_does_not_know_installs_nothing(app, oauth_slack):
    state, cookie = start_install(app)
    status, page, _ = app.get("/slack/oauth_redirect?" + urlencode({"code": "made-up", "state": state}),
                              {"Cookie": cookie})
    assert status == 401 and "Thank you" not in page
    assert oauth_slack.calls("oauth.v2.access") and app.deps.store.installed_workspaces() == []


def test_a_workspace_that_never_installed_gets_nothing(app, oauth_slack):
    install(app, oauth_slack, "TAAA", "xoxb-aaa-1")
    assert home_opened(app, "TZZZ") == 200
    code, body = app.command("We'll launch Premium Plus to lift ARR.", team="TZZZ",
                             response_url=oauth_slack.response_url("z"))
    assert code == 200
    time.sleep(0.3)
    assert not oauth_slack.calls("views.publish")
    assert [r for r in oauth_slack.responses if r[0] == "z"] and "reinstall" in oauth_slack.responses[0][1]["text"]
    assert app.deps.store.recent_checks(workspace="TZZZ") == []


def test_two_workspaces_each_answered_with_their_own_token(app, oauth_slack):
    install(app, oauth_slack, "TAAA", "xoxb-aaa-1")
    install(app, oauth_slack, "TBBB", "xoxb-bbb-1", installer="UB")
    assert home_opened(app, "TAAA", event_id="Ev1") == 200
    assert home_opened(app, "TBBB", event_id="Ev2") == 200
    assert oauth_slack.wait_for(lambda: len(oauth_slack.calls("views.publish")) == 2)
    assert sorted(t for t, _ in oauth_slack.calls_with_token("views.publish")) == ["xoxb-aaa-1", "xoxb-bbb-1"]
    assert sorted(app.deps.store.installed_workspaces()) == ["TAAA", "TBBB"]


def test_an_expired_bot_token_is_refreshed_at_slack_api_url_before_the_request_runs(app, oauth_slack):
    # Token rotation on: the install brings a refresh token and an expiry, here one minute away (inside the
    # two hours Bolt refreshes ahead), and Slack refuses the old token from now on.
    install(app, oauth_slack, "TAAA", "xoxe.xoxb-aaa-1", refresh_token="xoxe-1-r1", expires_in=60)
    assert app.deps.store.find_bot("", "TAAA")["bot_refresh_token"] == "xoxe-1-r1"
    oauth_slack.rotate("xoxe-1-r1", "TAAA", "xoxe.xoxb-aaa-2", "xoxe-1-r2", expires_in=43200)
    oauth_slack.expire("xoxe.xoxb-aaa-1")
    assert home_opened(app, "TAAA") == 200
    assert oauth_slack.wait_for(lambda: oauth_slack.calls("views.publish"))
    refresh = [p for p in oauth_slack.calls("oauth.v2.access") if p.get("grant_type") == "refresh_token"]
    assert [p["refresh_token"] for p in refresh] == ["xoxe-1-r1"]
    assert oauth_slack.calls_with_token("views.publish")[0][0] == "xoxe.xoxb-aaa-2"
    bot = app.deps.store.find_bot("", "TAAA")
    assert bot["bot_token"] == "xoxe.xoxb-aaa-2" and bot["bot_refresh_token"] == "xoxe-1-r2"
    assert bot["bot_token_expires_at"] > time.time() + 43000
    # Work outside requests (digest, recovery) gets the fresh token without another refresh.
    client = asyncio.run_coroutine_threadsafe(app.deps.clients("TAAA"), app.loop).result(10)
    assert client.token == "xoxe.xoxb-aaa-2" and len(refresh) == 1
    assert scrub("refresh xoxe-1-r2 now") == "refresh [secret] now"


def test_a_burst_on_two_instances_spends_the_refresh_token_once_and_every_request_gets_the_new_token(
        app, oauth_slack, tmp_path, database):
    """A refresh token works once. Two app instances on one database, five requests each at the moment the token
    needs refreshing: one refresh, and no request refused (the other instance finds the new token stored)."""
    from concurrent.futures import ThreadPoolExecutor

    install(app, oauth_slack, "TAAA", "xoxe.xoxb-aaa-1", refresh_token="xoxe-1-r1", expires_in=60)
    oauth_slack.rotate("xoxe-1-r1", "TAAA", "xoxe.xoxb-aaa-2", "xoxe-1-r2")
    oauth_slack.expire("xoxe.xoxb-aaa-1")
    other = RunningApp(oauth_settings(oauth_slack, tmp_path, database=database))
    try:
        with ThreadPoolExecutor(10) as pool:
            codes = list(pool.map(lambda i: home_opened((app, other)[i % 2], "TAAA", event_id=f"Ev{i}"), range(10)))
        assert codes == [200] * 10
        assert oauth_slack.wait_for(lambda: len(oauth_slack.calls("views.publish")) == 10)
    finally:
        other.stop()
    refreshes = [p for p in oauth_slack.calls("oauth.v2.access") if p.get("grant_type") == "refresh_token"]
    assert 1 <= len(refreshes) <= 2  # at most the other instance's attempt, refused, besides the one that worked
    assert {t for t, _ in oauth_slack.calls_with_token("views.publish")} == {"xoxe.xoxb-aaa-2"}
    assert app.deps.store.find_bot("", "TAAA")["bot_refresh_token"] == "xoxe-1-r2"


def test_a_refresh_reads_the_bot_again_first_and_a_refused_refresh_waits_for_another_processs_token(
        oauth_slack, tmp_path):
    from slack_sdk.errors import SlackTokenRotationError
    from slack_sdk.oauth.installation_store import Bot
    from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
    from slack_sdk.web.async_client import AsyncWebClient

    store = Store(tmp_path / "s.db")
    rotator = AsyncTokenRotator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                client=AsyncWebClient(base_url=oauth_slack.api_url))
    installs = StoreInstallations(store, rotator, rotation_wait=2.0)
    soon, later = int(time.time()) + 60, int(time.time()) + 43200

    def bot(token: str, refresh: str, expires_at: int) -> Bot:
        return Bot(team_id="TAAA", bot_token=token, bot_id="B1", bot_user_id="UB1", bot_refresh_token=refresh,
                   bot_token_expires_at=expires_at, installed_at=time.time())

    async def run() -> None:
        await installs.async_save_bot(bot("xoxe.xoxb-2", "xoxe-1-r2", later))  # refreshed elsewhere already
        assert (await installs.fresh(bot("xoxe.xoxb-1", "xoxe-1-r1", soon))).bot_token == "xoxe.xoxb-2"
        await installs.async_save_bot(bot("xoxe.xoxb-1", "xoxe-1-r1", soon))  # Slack will refuse this refresh...
        # ...because another process spent the refresh token: its new token is stored a moment later.
        later_save = threading.Timer(0.3, store.save_bot, [{"enterprise_id": "", "team_id": "TAAA",
                                                             "bot_token": "xoxe.xoxb-3", "bot_refresh_token": "r3",
                                                             "bot_token_expires_at": later, "installed_at": 1.0}])
        later_save.start()
        assert (await installs.async_find_bot(enterprise_id=None, team_id="TAAA")).bot_token == "xoxe.xoxb-3"
        await installs.async_save_bot(bot("xoxe.xoxb-1", "xoxe-1-r1", soon))  # and nobody else refreshes now
        with pytest.raises(SlackTokenRotationError):
            await installs.async_find_bot(enterprise_id=None, team_id="TAAA")

    asyncio.run(run())
    assert len(oauth_slack.calls("oauth.v2.access")) == 2  # the refused ones: the first stale bot was read again
    assert store.find_bot("", "TAAA")["bot_token"] == "xoxe.xoxb-1"


def test_work_outside_requests_refreshes_an_expiring_token_too(app, oauth_slack):
    install(app, oauth_slack, "TAAA", "xoxe.xoxb-aaa-1", refresh_token="xoxe-1-r1", expires_in=60)
    oauth_slack.rotate("xoxe-1-r1", "TAAA", "xoxe.xoxb-aaa-2", "xoxe-1-r2")
    client = asyncio.run_coroutine_threadsafe(app.deps.clients("TAAA"), app.loop).result(10)
    assert client.token == "xoxe.xoxb-aaa-2"
    assert app.deps.store.find_bot("", "TAAA")["bot_token"] == "xoxe.xoxb-aaa-2"
    assert asyncio.run_coroutine_threadsafe(app.deps.clients("TZZZ"), app.loop).result(10) is None


def _file_bytes(db: Path | None) -> bytes:
    """The SQLite file and its WAL; nothing on PostgreSQL, which erases rows, not files (see the README)."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*")) if db else b""


def test_uninstall_deletes_the_workspaces_tokens_at_once_and_keeps_its_drafts(app, oauth_slack, tmp_path):
    install(app, oauth_slack, "TAAA", "xoxb-aaa-secret-token")
    install(app, oauth_slack, "TBBB", "xoxb-bbb-secret-token")
    app.deps.store.record_check(None, "a draft", source="slash", workspace="TAAA", user="U1", status="done")
    db = app.deps.store.path
    assert b"xoxb-aaa-secret-token" in _file_bytes(db) or db is None
    code, _ = app.event({"type": "app_uninstalled", "event_ts": "1.2"}, event_id="EvU", team="TAAA")
    assert code == 200
    assert eventually(lambda: app.deps.store.find_installation("", "TAAA") is None)
    assert app.deps.store.find_bot("", "TAAA") is None
    assert app.deps.store.find_bot("", "TBBB")["bot_token"] == "xoxb-bbb-secret-token"
    assert b"xoxb-aaa-secret-token" not in _file_bytes(db)  # erased from the file and its WAL, not just unlinked
    assert len(app.deps.store.recent_checks(workspace="TAAA")) == 1  # drafts follow the retention setting
    assert home_opened(app, "TAAA", event_id="EvH2") == 200
    time.sleep(0.3)
    assert not oauth_slack.calls("views.publish")


def test_tokens_revoked_deletes_the_bot_token(app, oauth_slack):
    install(app, oauth_slack, "TAAA", "xoxb-aaa-1")
    event = {"type": "tokens_revoked", "tokens": {"oauth": ["UINSTALLER"], "bot": ["UBOTTAAA"]}}
    assert app.event(event, event_id="EvR", team="TAAA")[0] == 200
    assert eventually(lambda: app.deps.store.find_bot("", "TAAA") is None)
    assert eventually(lambda: app.deps.store.find_installation("", "TAAA") is None)


def test_org_wide_install_serves_its_workspaces_and_uninstalls_whole(app, oauth_slack):
    install(app, oauth_slack, "TAAA", "xoxb-org-1", enterprise_id="E111", org_wide=True)
    assert app.deps.store.find_bot("E111", "")["bot_token"] == "xoxb-org-1"
    body = {"token": "x", "team_id": "TAAA", "enterprise_id": "E111", "api_app_id": "A111", "type": "event_callback",
            "event_id": "EvO", "event_time": int(time.time()), "is_enterprise_install": True,
            "authorizations": [{"enterprise_id": "E111", "team_id": None, "is_enterprise_install": True}],
            "event": {"type": "app_home_opened", "user": "U111", "channel": "D1", "tab": "home"}}
    assert app.post(json.dumps(body), "application/json")[0] == 200
    assert oauth_slack.wait_for(lambda: oauth_slack.calls("views.publish"))
    assert oauth_slack.calls_with_token("views.publish")[0][0] == "xoxb-org-1"
    # The digest and recovery find the org's bot for that workspace, by what the request said.
    client = asyncio.run_coroutine_threadsafe(app.deps.clients("TAAA"), app.loop).result(10)
    assert client.token == "xoxb-org-1"
    body.update(event_id="EvOU", event={"type": "app_uninstalled"})
    assert app.post(json.dumps(body), "application/json")[0] == 200
    assert eventually(lambda: app.deps.store.find_bot("E111", "") is None)


def test_the_installation_store_meets_slack_sdks_interface(database):
    """find_installation, find_bot, the deletes: each by its own team (and org), nothing else's."""
    from slack_sdk.oauth.installation_store import Installation

    store = Store(database)
    installs = StoreInstallations(store)

    async def run() -> None:
        for team, user, token in (("TAAA", "U1", "xoxb-a"), ("TBBB", "U2", "xoxb-b")):
            await installs.async_save(Installation(app_id="A1", team_id=team, user_id=user, bot_token=token,
                                                   bot_id=f"B{team}", bot_user_id=f"UB{team}",
                                                   bot_scopes="commands,chat:write"))
        await installs.async_save(Installation(app_id="A1", team_id="TAAA", user_id="U9", bot_token="xoxb-a2",
                                               bot_id="BTAAA", bot_user_id="UBTAAA", installed_at=time.time() + 1))
        found = await installs.async_find_installation(enterprise_id=None, team_id="TAAA")
        assert (found.user_id, found.bot_token) == ("U9", "xoxb-a2")  # the latest install, the current bot
        first = await installs.async_find_installation(enterprise_id=None, team_id="TAAA", user_id="U1")
        assert first.user_id == "U1" and first.bot_token == "xoxb-a2"
        bot = await installs.async_find_bot(enterprise_id=None, team_id="TBBB")
        assert bot.bot_token == "xoxb-b" and bot.bot_scopes == ["commands", "chat:write"]
        assert await installs.async_find_bot(enterprise_id="E1", team_id="TBBB") is None
        await installs.async_delete_installation(enterprise_id=None, team_id="TAAA", user_id="U9")
        assert (await installs.async_find_installation(enterprise_id=None, team_id="TAAA")).user_id == "U1"
        await installs.async_delete_bot(enterprise_id=None, team_id="TAAA")
        assert await installs.async_find_bot(enterprise_id=None, team_id="TAAA") is None
        assert (await installs.async_find_installation(enterprise_id=None, team_id="TAAA")).bot_token is None
        await installs.async_delete_all(enterprise_id=None, team_id="TAAA")
        assert await installs.async_find_installation(enterprise_id=None, team_id="TAAA") is None
        assert (await installs.async_find_bot(enterprise_id=None, team_id="TBBB")).bot_token == "xoxb-b"

    asyncio.run(run())


@pytest.mark.parametrize("env,variable", [
    ({"SLACK_CLIENT_SECRET": ""}, "SLACK_CLIENT_SECRET"),
    ({"SLACK_CLIENT_ID": ""}, "SLACK_CLIENT_ID"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_APP_TOKEN"),
    ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
    ({"MOTIVECHECK_WATCH_CHANNELS": "C1"}, "MOTIVECHECK_WATCH_CHANNELS"),
    ({"MOTIVECHECK_DIGEST_CHANNEL": "C1"}, "MOTIVECHECK_DIGEST_CHANNEL"),
    ({"SLACK_REDIRECT_URI": "http://coach.example.com/slack/oauth_redirect"}, "SLACK_REDIRECT_URI"),
])
def test_oauth_settings_that_cannot_work_stop_start_up_naming_the_variable(env, variable):
    base = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_SIGNING_SECRET": SECRET}
    with pytest.raises(ConfigError) as info:
        validate_slack_settings(load_settings(env={**base, **env}))
    assert str(info.value).startswith(variable) and "\n" not in str(info.value)


def test_with_a_bot_token_there_are_no_install_pages_and_uninstall_is_answered(slack, tmp_path):
    from test_slack import settings_for

    running = RunningApp(settings_for(slack, tmp_path))
    try:
        assert running.get("/slack/install")[0] == 404
        assert running.event({"type": "app_uninstalled"}, event_id="EvU")[0] == 200
        assert running.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, event_id="EvR")[0] == 200
    finally:
        running.stop()


def test_the_served_app_installs_answers_and_never_logs_a_token_or_the_client_secret(oauth_slack, tmp_path):
    """The real `motivecheck serve` process with OAuth settings, logging at debug level."""
    import os
    import signal
    import subprocess
    import sys

    from slack_server import free_port

    port = free_port()
    env = dict(os.environ, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET, SLACK_SIGNING_SECRET=SECRET,
               SLACK_API_URL=oauth_slack.api_url, MOTIVECHECK_DB=str(tmp_path / "served.db"),
               MOTIVECHECK_LOG_LEVEL="debug")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        served = RunningApp.__new__(RunningApp)
        served.port = port
        assert eventually(lambda: _up(served), timeout=20), proc.stderr.read1().decode()[-2000:]
        install(served, oauth_slack, "TAAA", "xoxe.xoxb-served-token", refresh_token="xoxe-1-served-refresh",
                expires_in=43200)
        assert served.command("We'll launch Premium Plus to lift ARR.", team="TAAA",
                              response_url=oauth_slack.response_url("s"))[0] == 200
        assert oauth_slack.wait_for(lambda: oauth_slack.responses, timeout=20)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    logs = proc.stderr.read().decode() + proc.stdout.read().decode()
    assert "installed in TAAA" in logs and "/slack/install" in logs
    for secret in ("xoxe.xoxb-served-token", "xoxe-1-served-refresh", CLIENT_SECRET, "served-token"):
        assert secret not in logs, secret


def _up(app: RunningApp) -> bool:
    try:
        return app.get("/healthz")[0] == 200
    except OSError:
        return False


def test_digest_post_from_the_command_line_goes_through_the_workspaces_installed_bot(oauth_slack, tmp_path):
    import os
    import subprocess
    import sys

    db = tmp_path / "cli.db"
    store = Store(db)
    store.save_bot({"enterprise_id": "", "team_id": "TAAA", "bot_token": "xoxb-cli-aaa", "bot_id": "BTAAA",
                    "bot_user_id": "UBOTTAAA", "is_enterprise_install": 0, "installed_at": time.time()})
    store.record_check(None, "a draft", source="slash", workspace="TAAA", user="U1", ts=time.time() - 7 * 86400)
    env = dict(os.environ, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET, SLACK_SIGNING_SECRET=SECRET,
               SLACK_API_URL=oauth_slack.api_url, MOTIVECHECK_DB=str(db))

    def digest(workspace: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", "digest", "--post", "--workspace", workspace,
                               "--channel", "CLEAD"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    posted = digest("TAAA")
    assert posted.returncode == 0, posted.stderr
    assert [t for t, _ in oauth_slack.calls_with_token("chat.postMessage")] == ["xoxb-cli-aaa"]
    refused = digest("TZZZ")
    assert refused.returncode == 2 and "no installed bot serves that workspace" in refused.stderr
    assert "Traceback" not in refused.stderr
