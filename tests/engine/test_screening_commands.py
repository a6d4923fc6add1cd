"""``campaigner screen``, ``health``, ``heartbeat`` and the screening ``plan`` shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import trio
import trio.testing

from campaigner import cli
from campaigner.campaign import loader
from campaigner.campaign.contacts import scan
from campaigner.campaign.loader import load_campaign
from campaigner.clock import TrioWallClock
from campaigner.commands import health as health_command
from campaigner.commands import screen as screen_command
from campaigner.commands.health import check_caller_ids
from campaigner.commands.screen import render_text
from campaigner.engine.screen_command import screen_campaign
from campaigner.exotel.models import Heartbeat, NumberMetadata
from campaigner.screening.frequency import CallingRules
from campaigner.settings import ExotelSettings, load_campaigner_settings
from campaigner.simulator import Scenario, Simulator
from campaigner.store.shared import SharedState
from tests.engine.harness import MONDAY_10AM, run_against_sim, write_campaign

IST = ZoneInfo("Asia/Kolkata")
N = [f"+9193{i:08d}" for i in range(1, 9)]
CAMPAIGN = f"""
name: screen
api: v1
caller_ids: ["+912241499102", "+918047091234"]
dial: {{mode: agent_first, agents: ["+919900000001"]}}
contacts: {{inline: {N}}}
schedule: {{deadline: 2026-11-23T20:00:00+05:30}}
screening:
  opt_out: [optout.txt]
  frequency_cap: {{calls: 1, per: 12h}}
  min_gap: 4h
callbacks: {{public_url: "https://hooks.example.com/exotel/"}}
"""
SCENARIO = Scenario.model_validate({"numbers": {N[2]: {"dnd": True}, N[3]: {"dnd": "unavailable"}}})
SETTINGS = ExotelSettings(
    api_key="sandbox-key",
    api_token="sandbox-token",
    account_sid="sandbox",
    base_url="http://sim.invalid",
    ccm_base_url="http://sim.invalid",
)


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands of issue 6, whether or not campaigner.cli lists them yet."""
    commands = (*cli.COMMANDS, "screen", "health", "heartbeat")
    monkeypatch.setattr(cli, "COMMANDS", tuple(dict.fromkeys(commands)))


def setup(tmp_path: Path) -> Path:
    (tmp_path / "optout.txt").write_text(f"0{N[4][3:]}\n")
    path = write_campaign(tmp_path, CAMPAIGN)
    history = {N[5]: MONDAY_10AM - timedelta(hours=1), N[6]: MONDAY_10AM - timedelta(hours=11)}
    with SharedState.open(tmp_path / ".campaigner") as shared:
        for number, at in history.items():
            shared.claim_call(number, at.timestamp(), CallingRules(), "another campaign")
    return path


def sources(path: Path) -> dict[str, str]:
    return {c.phone: c.source for c in load_campaign(path).iter_contacts()}


async def test_screen_reports_what_a_run_would_skip_and_fills_the_cache(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = setup(tmp_path)
    clock = TrioWallClock(MONDAY_10AM)
    sim = Simulator(SCENARIO, clock=clock)
    lines: list[str] = []
    result = await screen_campaign(
        load_campaign(path), SETTINGS, transport=sim.transport(), clock=clock, progress=lines.append
    )
    lookups = [r for r in sim.requests if r.kind == "v1.numbers"]
    assert len(lookups) == 7  # everyone but the opted-out number, paced by the limiter
    assert lookups[-1].time - lookups[0].time == pytest.approx(6 * 60 / 180)
    src = sources(path)
    assert render_text(result, "skip", "screen").splitlines() == [
        "screening screen: 8 contacts",
        "  DND (skip)      1 would be skipped (7 looked up, 0 from the cache, 1 unavailable: "
        "called)",
        "  opted out       1",
        "  frequency cap   1 would be skipped, 1 deferred",
        "would skip:",
        f"  {N[2]:<16} on the DND registry (screening.dnd)  ({src[N[2]]})",
        f"  {N[4]:<16} opted out (screening.opt_out)  ({src[N[4]]})",
        f"  {N[5]:<16} frequency cap / minimum gap: no window left before it allows a call  "
        f"({src[N[5]]})",
        "would defer (called recently by campaigns sharing this state):",
        f"  {N[6]:<16} until Mon 23 Nov 11:00 IST  ({src[N[6]]})",
    ]
    # The run that follows spends no request on lookups.
    out = await run_against_sim(path, SCENARIO)
    assert not [r for r in out.sim.requests if r.kind == "v1.numbers"]


def test_screen_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = setup(tmp_path)
    with SharedState.open(tmp_path / ".campaigner") as shared:  # everything known: no request
        for number in N:
            meta = NumberMetadata(None, None, None, None, None, None, dnd=number == N[2])
            shared.remember(number, meta, datetime.now().timestamp())
    for name, value in SETTINGS.model_dump().items():
        if value is not None:
            secret = getattr(value, "get_secret_value", None)
            monkeypatch.setenv(f"EXOTEL_{name.upper()}", secret() if secret else str(value))
    real = screen_command.screen_campaign

    async def in_process(*args: Any, **kwargs: Any) -> Any:
        return await real(*args, transport=Simulator(SCENARIO).transport(), **kwargs)

    monkeypatch.setattr(screen_command, "screen_campaign", in_process)
    preflight = screen_command.check_exotel

    async def preflight_in_process(*args: Any, **kwargs: Any) -> None:
        await preflight(*args, transport=Simulator(SCENARIO).transport(), **kwargs)

    monkeypatch.setattr(screen_command, "check_exotel", preflight_in_process)
    assert cli.main(["screen", str(path), "--format", "json", "-q"]) == 0
    out = capsys.readouterr().out
    assert '"from_cache": 7' in out  # the opted-out number needs none
    assert '"reason": "dnd"' in out


async def test_health_reads_v2_details_of_every_caller_id(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = setup(tmp_path)
    sim = Simulator(SCENARIO, clock=TrioWallClock(MONDAY_10AM))
    sim.set_exophone_health("02241499102", outgoing="major_outage")
    loaded = load_campaign(path)
    found = await check_caller_ids(loaded, SETTINGS, transport=sim.transport())
    assert [(h.number, h.sid, h.usable) for h in found] == [
        ("+912241499102", "02241499102", False),
        ("+918047091234", "08047091234", True),
    ]
    with SharedState.open(loaded.state_dir) as shared:
        beat = Heartbeat(MONDAY_10AM, "WARNING", (), ("02241499102",))
        shared.record_heartbeat("sandbox", beat, MONDAY_10AM.timestamp())
        stored = shared.latest_heartbeat("sandbox")
    text = health_command.render_text(found, stored, IST)
    assert text.splitlines() == [
        "caller ID        SID            outgoing                 incoming                 "
        "alternates",
        "+912241499102    02241499102    major_outage             active                   "
        "+918047091234",
        "+918047091234    08047091234    active                   active                   "
        "+912241499102",
        "last heartbeat: Mon 23 Nov 10:00 IST, WARNING; outgoing affected: 02241499102",
    ]


def test_heartbeat_prints_the_url_to_configure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_campaign(tmp_path, CAMPAIGN)
    assert cli.main(["heartbeat", str(path)]) == 3
    assert "CAMPAIGNER_HEARTBEAT_TOKEN is not set" in capsys.readouterr().err
    monkeypatch.setenv("CAMPAIGNER_HEARTBEAT_TOKEN", "s3cret-heartbeat-token")
    assert cli.main(["heartbeat", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "Configure this URL in Exotel's dashboard (heartbeat notifications, POST):",
        "",
        "  https://hooks.example.com/exotel/heartbeat/s3cret-heartbeat-token",
    ]
    no_url = write_campaign(tmp_path, CAMPAIGN.replace("callbacks:", "#"), "nourl.yaml")
    assert cli.main(["heartbeat", str(no_url)]) == 2
    assert cli.main(["heartbeat", str(no_url), "--public-url", "https://x.example"]) == 0
    assert "https://x.example/heartbeat/s3cret-heartbeat-token" in capsys.readouterr().out


def test_a_weak_heartbeat_token_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAMPAIGNER_HEARTBEAT_TOKEN", "short")
    path = write_campaign(tmp_path, CAMPAIGN)
    assert cli.main(["heartbeat", str(path)]) == 3
    err = capsys.readouterr().err
    assert "CAMPAIGNER_HEARTBEAT_TOKEN" in err
    assert "short" not in err.replace("shorter", "")


def test_plan_shows_screening(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = setup(tmp_path)
    now = datetime.now().timestamp()
    with SharedState.open(tmp_path / ".campaigner") as shared:
        shared.remember(N[2], NumberMetadata(None, None, None, None, None, None, True), now)
        shared.remember(N[0], NumberMetadata(None, None, None, None, None, None, False), now)
        shared.claim_call(N[1], now, CallingRules(), "another campaign")
    assert cli.main(["plan", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-3:] == [
        "DND           skip: 1 known DND in the cache (1 skipped); 5 lookups from the budget",
        "opted out     1 contacts (not called)",
        "frequency     1 calls per 12h, at least 4h apart (across campaigns sharing the state "
        "directory); 1 contacts held back now",
    ]
    assert any(line.startswith("contacts      6 to call") for line in out)


def test_plan_reads_the_contacts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Validation and the screening counts share one pass (1M contacts: 77 s before, 36 s)."""
    path = setup(tmp_path)
    read: list[object] = []

    def counting(*args: Any) -> Iterator[object]:
        for item in scan(*args):
            read.append(item)
            yield item

    monkeypatch.setattr(loader, "scan", counting)
    assert cli.main(["plan", str(path), "--show", "2"]) == 0
    assert "opted out     1 contacts" in capsys.readouterr().out
    assert len(read) <= len(N) + 3  # one pass, and the first calls shown (plus one peeked)


def test_heartbeat_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGNER_HEARTBEAT_TOKEN", "s3cret-heartbeat-token")
    monkeypatch.setenv("CAMPAIGNER_HEARTBEAT_INTERVAL", "2")
    settings = load_campaigner_settings()
    assert settings.heartbeat_interval == 2
    assert settings.heartbeat_token is not None
    assert settings.heartbeat_token.get_secret_value() == "s3cret-heartbeat-token"
    assert "s3cret" not in repr(settings)
    monkeypatch.setenv("CAMPAIGNER_HEARTBEAT_TOKEN", "")
    assert load_campaigner_settings().heartbeat_token is None  # empty means unset
