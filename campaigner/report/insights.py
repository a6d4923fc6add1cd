"""What a manager asks after a campaign: what it cost, when to call, why calls failed, who worked.

Spend is Exotel's own ``Price`` (never an estimate); connect rate by hour of the
local day says when people pick up; "not connected" separates whose side failed
(agent, contact, Exotel refusing, or the network), because each calls for a
different fix; agent utilisation is talk time over the time the campaign ran.
All per call, aggregated in SQL like the other sections.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from campaigner.domain import Side, outcomes_on
from campaigner.report.groups import agent_names
from campaigner.report.model import AgentUse, HourRate, NotConnected, Spend
from campaigner.report.source import Source, counts

QUARTER = 900  # every timezone's offset is a multiple of 15 minutes

# The price and currency of a call record: v1 details nest the record under "Call",
# bulk listings do not, nor do the compact rows (effect 'priced') the tracker journals when
# a price comes with an answer that changes nothing else (docs/reports.md, "Spend"). A
# record that is not finished yet has a null Price.
_PRICES = (
    "SELECT e.call_id, coalesce(json_extract(e.payload, '$.Call.Price'), "
    "json_extract(e.payload, '$.Price')), coalesce(json_extract(e.payload, '$.Call.Currency'), "
    "json_extract(e.payload, '$.Currency')) FROM events e JOIN calls c ON c.id = e.call_id "
    "WHERE c.sid IS NOT NULL AND instr(e.payload, '\"Price\"') > 0 AND json_valid(e.payload) "
    "ORDER BY e.id"
)


def spend(source: Source) -> Spend:
    """The sum of every placed call's last known ``Price``; calls without one are counted."""
    prices: dict[int, Decimal] = {}
    currencies: set[str] = set()
    for call_id, price, currency in source.tuples(_PRICES):
        amount = _decimal(price)
        if amount is None:
            continue
        prices[int(call_id)] = amount  # a later record of the same call wins
        if isinstance(currency, str) and currency.strip():
            currencies.add(currency.strip())
    placed = int(source.scalar("SELECT count(*) FROM calls WHERE sid IS NOT NULL"))
    connected = int(
        source.scalar("SELECT count(*) FROM calls WHERE sid IS NOT NULL AND outcome = 'connected'")
    )
    total = sum(prices.values(), Decimal(0)) if prices else None
    per_connected = None
    unpriced = max(placed - len(prices), 0)
    if total is not None and connected and not unpriced:  # a partial sum would understate it
        per_connected = str((total / connected).quantize(Decimal("0.001")))
    return Spend(
        total=None if total is None else str(total),
        currency=", ".join(sorted(currencies)) or None,
        calls_priced=len(prices),
        calls_unpriced=unpriced,
        per_connected=per_connected,
    )


def _decimal(value: Any) -> Decimal | None:
    """A price as Exotel sends it ("1.500", 0, 0.5); None for null, "" or nonsense."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def by_hour(source: Source) -> tuple[HourRate, ...]:
    """Placed calls and their connect rate by hour of the local day, every day together."""
    hours: dict[int, list[int]] = {}
    for quarter, calls, connected in source.tuples(
        "SELECT CAST(intent_at / ? AS INTEGER), count(*), "
        "coalesce(sum(outcome = 'connected'), 0) FROM calls WHERE sid IS NOT NULL GROUP BY 1",
        (QUARTER,),
    ):
        tally = hours.setdefault(source.when(int(quarter) * QUARTER).hour, [0, 0])
        tally[0] += int(calls)
        tally[1] += int(connected)
    return tuple(
        HourRate(hour, calls, connected, connected / calls if calls else 0.0)
        for hour, (calls, connected) in sorted(hours.items())
    )


def _among(side: Side) -> str:
    """The SQL list of the outcomes on ``side`` (the vocabulary's own names, no user text)."""
    return ", ".join(f"'{o.value}'" for o in outcomes_on(side))


# Whose side a call that did not connect failed on (docs/reports.md, "Why calls did not
# connect"): placed calls by their outcome's side in the vocabulary (campaigner.domain);
# connects that created no call by their answer.
_SIDE = (
    "SELECT CASE "
    f"WHEN sid IS NOT NULL AND outcome IN ({_among('agent')}) THEN 'agent' "
    f"WHEN sid IS NOT NULL AND outcome IN ({_among('contact')}) THEN 'contact' "
    f"WHEN sid IS NOT NULL AND (outcome IN ({_among('unknown')}) OR resolved_by = 'give_up') "
    "THEN 'unknown' "
    "WHEN sid IS NOT NULL THEN 'other' "
    "WHEN error_status = 409 THEN 'agent' "
    "WHEN coalesce(error_status, 0) = 0 THEN 'network' "
    "ELSE 'exotel_refused' END, count(*) FROM calls "
    "WHERE open = 0 AND coalesce(outcome, '') != 'connected' "
    "AND (sid IS NOT NULL AND outcome IS NOT NULL OR state = 'not_placed') GROUP BY 1"
)


def not_connected(source: Source) -> NotConnected:
    """Calls that ended without connecting, by whose side failed."""
    sides: dict[str, int] = {}
    for side, count in source.tuples(_SIDE):
        sides[str(side)] = sides.get(str(side), 0) + int(count)
    return NotConnected(sum(sides.values()), counts(sides))


def campaign_seconds(source: Source, last_activity: float | None) -> int:
    """How long runs ran, all runs together; a run with no end counts to the last activity."""
    total = 0.0
    for started, ended in source.tuples("SELECT started_at, ended_at FROM runs"):
        end = ended if ended is not None else last_activity
        if end is not None and end > started:
            total += float(end) - float(started)
    return int(total)


def agent_use(source: Source, last_activity: float | None) -> tuple[AgentUse, ...]:
    """Per agent: connected calls handled, talk time, and its share of the campaign's time."""
    seconds = campaign_seconds(source, last_activity)
    names = agent_names(source)
    agents = source.tuples(
        "SELECT DISTINCT agent FROM calls WHERE sid IS NOT NULL AND agent IS NOT NULL ORDER BY 1"
    )
    connected = {
        str(agent): (int(n), int(talk))
        for agent, n, talk in source.tuples(
            "SELECT agent, count(*), coalesce(sum(talk_time), 0) FROM calls "
            "WHERE sid IS NOT NULL AND agent IS NOT NULL AND outcome = 'connected' GROUP BY 1"
        )
    }
    uses = []
    for (agent,) in agents:
        handled, talk = connected.get(str(agent), (0, 0))
        uses.append(
            AgentUse(
                key=source.phone(str(agent)),
                label=names.get(str(agent)),
                handled=handled,
                talk_seconds=talk,
                campaign_seconds=seconds,
                utilisation=talk / seconds if seconds else 0.0,
            )
        )
    return tuple(uses)
