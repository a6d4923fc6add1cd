"""The API-version registry: one description per version, read through ``api_version``.

The last tests register a hypothetical v4 (in the registry only, as a new version would
be) and check that the campaign rules, the compiler's plan, the callback receiver and the
outcome mapping take it up with no other change.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import get_args

import httpx
import pytest

from campaigner.campaign.loader import check_campaign
from campaigner.campaign.model import Campaign
from campaigner.campaign.resolved import LoadedCampaign
from campaigner.campaign.rules import check
from campaigner.compile.plan import build_plan
from campaigner.domain import ApiVersion, CallObservation, DialMode, Outcome, Verdict
from campaigner.engine.receiver import CallbackReceiver
from campaigner.exotel import registry
from campaigner.exotel.registry import REGISTRY, api_version, who_has
from campaigner.exotel.v3_version import VERSION as V3
from campaigner.outcomes import needs_details, verdict
from tests.campaign.conftest import BASE, NOW

# A v3 campaign with a SIP agent and GET callbacks (options v1 lacks).
CAMPAIGN = (
    BASE.replace("api: v1", "api: v3").replace('["+919900000001"]', '["sip:agent@example.com"]')
    + "  method: GET\n"
)


def test_the_campaign_model_offers_exactly_the_registered_versions() -> None:
    assert set(get_args(ApiVersion)) == set(REGISTRY)
    assert Campaign.model_fields["api"].default == registry.DEFAULT_API == next(iter(REGISTRY))


def test_each_description_is_registered_under_its_own_name() -> None:
    assert all(name == version.name for name, version in REGISTRY.items())


def test_an_unknown_version_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown Exotel API 'v9'; known: v1, v3"):
        api_version("v9")


def test_a_refusal_names_the_first_version_that_has_the_option() -> None:
    assert who_has(lambda k: k.call_type) == ("v1", "CallType")
    assert who_has(lambda k: k.sip_agents) == ("v3", "from.contact_uri with VoIP")
    with pytest.raises(ValueError, match="no registered Exotel API has this option"):
        who_has(lambda k: None)


def _v4_verdict(obs: CallObservation, mode: DialMode) -> Verdict:
    return Verdict(Outcome.BUSY, f"v4 status {obs.status}")


def _v4_callback(body: bytes, content_type: str, query: str, method: str) -> CallObservation:
    return CallObservation(
        sid=body.decode(),
        api="v4",  # type: ignore[arg-type]  # a version the Literal does not know yet
        source="callback",
        event="terminal",
        terminal=True,
        status="done",
    )


@pytest.fixture
def v4(monkeypatch: pytest.MonkeyPatch) -> None:
    """v3's wire, without SIP agents, a dial share of its own, its own callbacks and verdict."""
    version = replace(
        V3,
        name="v4",  # type: ignore[arg-type]
        capabilities=replace(V3.capabilities, sip_agents=None),
        dial_share=0.5,
        parse_callback=_v4_callback,
        verdict=_v4_verdict,
    )
    monkeypatch.setitem(REGISTRY, "v4", version)


def _loaded(tmp_path: Path, api: str = "v4") -> LoadedCampaign:
    path = tmp_path / "c.yaml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    loaded, problems = check_campaign(path)
    assert loaded is not None, problems
    return replace(loaded, campaign=loaded.campaign.model_copy(update={"api": api}))


@pytest.mark.usefixtures("v4")
def test_a_new_version_is_read_by_the_campaign_rules(tmp_path: Path) -> None:
    findings = check(_loaded(tmp_path).campaign, NOW)
    found = [f"{'.'.join(map(str, f.path))}: {f.message}" for f in findings]
    # No SIP agents in v4: refused, naming v3, which has them; GET callbacks are v4's too.
    assert found == [
        "dial.agents.0: a sip: agent is v3 only (from.contact_uri with VoIP); "
        "this campaign uses api: v4"
    ]


@pytest.mark.usefixtures("v4")
def test_a_new_version_is_read_by_the_plan(tmp_path: Path) -> None:
    v4_budget = build_plan(_loaded(tmp_path), NOW).pace.budget
    v3_budget = build_plan(_loaded(tmp_path, "v3"), NOW).pace.budget
    assert v4_budget / v3_budget == pytest.approx(0.5 / V3.dial_share)


@pytest.mark.usefixtures("v4")
async def test_a_new_version_has_its_callback_route_and_its_verdict() -> None:
    seen: list[CallObservation] = []
    app = CallbackReceiver("tok", seen.append)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r") as http:
        answer = await http.post("/tok/v4", content=b"sid-4")
        unknown = await http.post("/tok/v5", content=b"sid-5")
    assert (answer.status_code, unknown.status_code) == (200, 403)
    assert [o.sid for o in seen] == ["sid-4"]
    assert verdict(seen[0], "agent_first") == Verdict(Outcome.BUSY, "v4 status done")
    assert not needs_details(seen[0], "agent_first")
