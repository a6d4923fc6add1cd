"""Agents, caller IDs and the fixed number of a campaign, normalised and checked.

Every number the run dials or shows as caller ID goes through ``campaigner.phones``
here, so that the compiler and the engine only ever see E.164 (or a v3 SIP URI).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from campaigner.campaign.findings import Finding, error, only_in
from campaigner.campaign.model import Agent, CallerId, Campaign
from campaigner.campaign.resolved import ResolvedAgent, ResolvedCallerId
from campaigner.campaign.yamlfile import KeyPath, dotted
from campaigner.exotel.registry import api_version, who_has
from campaigner.phones import InvalidPhoneNumber, is_sip, national, normalise


@dataclass
class Parties:
    """The resolved parties and what was wrong with them (empty when all is well)."""

    agents: list[ResolvedAgent] = field(default_factory=list)
    caller_ids: list[ResolvedCallerId] = field(default_factory=list)
    connect_to: str | None = None
    findings: list[Finding] = field(default_factory=list)


def resolve_parties(campaign: Campaign) -> Parties:
    """Normalise every agent, caller ID and ``connect_to``; findings located at each item."""
    parties = Parties()
    region = campaign.contacts.default_region
    _resolve_caller_ids(campaign, region, parties)
    _resolve_agents(campaign, region, parties)
    connect_to = getattr(campaign.dial, "connect_to", None)
    if connect_to is not None:
        parties.connect_to = _number(connect_to, region, ("dial", "connect_to"), parties)
    return parties


def _number(raw: str, region: str, path: KeyPath, parties: Parties) -> str | None:
    try:
        return normalise(raw, region)
    except InvalidPhoneNumber as exc:
        parties.findings.append(error(path, str(exc)))
        return None


def _resolve_caller_ids(campaign: Campaign, region: str, parties: Parties) -> None:
    first_at: dict[str, KeyPath] = {}
    for index, entry in enumerate(campaign.caller_ids):
        caller = CallerId(number=entry) if isinstance(entry, str) else entry
        path: KeyPath = (
            ("caller_ids", index) if isinstance(entry, str) else ("caller_ids", index, "number")
        )
        number = _number(caller.number, region, path, parties)
        if _first_time(number, first_at, path, parties):
            assert number is not None
            parties.caller_ids.append(ResolvedCallerId(number, caller.sid or national(number)))


def _resolve_agents(campaign: Campaign, region: str, parties: Parties) -> None:
    entries = getattr(campaign.dial, "agents", None) or []
    first_at: dict[str, KeyPath] = {}
    for index, entry in enumerate(entries):
        agent = Agent(contact_uri=entry) if isinstance(entry, str) else entry
        base: KeyPath = ("dial", "agents", index)
        path = base if isinstance(entry, str) else (*base, "contact_uri")
        uri = _agent_uri(agent, campaign.api, region, path, parties)
        if agent.state_management is not None:
            _check_state_management(campaign, (*base, "state_management"), parties)
        if _first_time(uri, first_at, path, parties):
            assert uri is not None
            parties.agents.append(ResolvedAgent(uri, agent.state_management, agent.name))


def _check_state_management(campaign: Campaign, path: KeyPath, parties: Parties) -> None:
    """Where the API has it (v3), it is on the first leg only (``from.state_management``):
    agent_first's agents."""
    if api_version(campaign.api).capabilities.state_management is None:
        refusal = only_in(*who_has(lambda k: k.state_management), campaign.api)
        parties.findings.append(error(path, refusal))
    elif campaign.dial.mode != "agent_first":
        message = (
            "applies to the first leg (from.state_management); in contact_first the agent "
            "is the second leg (to), which has no state_management"
        )
        parties.findings.append(error(path, message))


def _first_time(value: str | None, seen: dict[str, KeyPath], path: KeyPath, p: Parties) -> bool:
    """True the first time ``value`` is listed; a finding at ``path`` on a repeat."""
    if value is None:
        return False
    item = path[:-1] if isinstance(path[-1], str) else path  # the list item, not its key
    if value in seen:
        p.findings.append(error(path, f"{value} is listed twice (also {dotted(seen[value])})"))
        return False
    seen[value] = item
    return True


def _agent_uri(agent: Agent, api: str, region: str, path: KeyPath, parties: Parties) -> str | None:
    if not is_sip(agent.contact_uri):
        return _number(agent.contact_uri, region, path, parties)
    if api_version(api).capabilities.sip_agents is None:
        message = "a sip: agent is " + only_in(*who_has(lambda k: k.sip_agents), api)
        parties.findings.append(error(path, message))
        return None
    return agent.contact_uri.strip()
