"""The funnel, outcomes, retries, errors, tracking and run events, aggregated in SQL.

Each function reads the journal through a :class:`Source` and returns one frozen
section of the summary; docs/reports.md says how each number is derived, and these
functions are that derivation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from campaigner.domain import Outcome, outcomes_on
from campaigner.report.masking import mask_data
from campaigner.report.model import (
    Ambiguous,
    ApiError,
    AttemptOutcomes,
    Errors,
    Funnel,
    FunnelStep,
    Outcomes,
    RefusedCall,
    Retries,
    RunEvent,
    RunEvents,
    Tracking,
)
from campaigner.report.source import Source, counts, grouped, json_object
from campaigner.store.queries import campaign_status

PLACED = "sid IS NOT NULL"
HAS_PLACED_CALL = f"EXISTS (SELECT 1 FROM calls WHERE contact_id = contacts.id AND {PLACED})"

# A call "answered" in the funnel's sense, by dial mode (docs/reports.md, "Funnel"): leg 0
# answered if the call connected or failed on the other leg's side. agent_first: the agent
# is leg 0, so a contact-side failure means the agent picked up (unknown is left out: the
# result was never learnt). contact_first and flow: the contact is leg 0; it answered if
# the agent side failed.
_AFTER_AGENT = tuple(o.value for o in (Outcome.CONNECTED, *outcomes_on("contact")))
_AFTER_CONTACT = tuple(o.value for o in (Outcome.CONNECTED, *outcomes_on("agent")))
ANSWERED_OUTCOMES: dict[str, tuple[str, ...]] = {
    "agent_first": _AFTER_AGENT,
    "contact_first": _AFTER_CONTACT,
    "flow": _AFTER_CONTACT,
}

# run_log kinds worth an operator's attention; any other kind is shown as "info".
WARNING_KINDS = frozenset(
    {
        "ambiguous",
        "proven_absent",
        "interrupted",
        "expired",
        "file_changed",
        "paused",
        "breaker_tripped",
        "caller_id_down",
        "failover",
        "health_check_failed",
        "rate_limited",
        "auth_failed",
    }
)
EVENTS_SHOWN = 1000


def funnel(source: Source) -> Funnel:
    """contacts -> skipped (why) -> dialed -> answered -> connected, in contacts."""
    reasons = grouped(source, "SELECT reason, count(*) FROM skipped_rows GROUP BY 1")
    for reason, count in grouped(
        source, "SELECT reason, count(*) FROM contacts WHERE outcome = 'skipped' GROUP BY 1"
    ).items():
        reasons[reason] = reasons.get(reason, 0) + count
    skipped = sum(reasons.values())
    total = int(source.scalar("SELECT count(*) FROM contacts")) + int(
        source.scalar("SELECT count(*) FROM skipped_rows")
    )
    answered_outcomes = ANSWERED_OUTCOMES.get(source.mode, ANSWERED_OUTCOMES["contact_first"])
    marks = ",".join("?" * len(answered_outcomes))
    dialed = _distinct_contacts(source, PLACED)
    answered = _distinct_contacts(source, f"{PLACED} AND outcome IN ({marks})", answered_outcomes)
    connected = _distinct_contacts(source, "outcome = 'connected'")
    not_dialed = int(
        source.scalar(
            "SELECT count(*) FROM contacts WHERE coalesce(outcome, '') != 'skipped' "
            f"AND NOT {HAS_PLACED_CALL}"
        )
    )
    by = "agent" if source.mode == "agent_first" else "contact"
    steps = (
        ("contacts", "Contacts", total),
        ("skipped", "Skipped", skipped),
        ("dialed", "Dialed", dialed),
        ("answered", f"Answered by {by}", answered),
        ("connected", "Connected", connected),
    )
    return Funnel(
        total=total,
        skipped=skipped,
        skipped_reasons=counts(reasons),
        dialed=dialed,
        answered=answered,
        answered_by=by,
        connected=connected,
        not_dialed=not_dialed,
        steps=tuple(FunnelStep(k, label, n, n / total if total else 0.0) for k, label, n in steps),
    )


def _distinct_contacts(source: Source, where: str, params: tuple[str, ...] = ()) -> int:
    return int(source.scalar(f"SELECT count(DISTINCT contact_id) FROM calls WHERE {where}", params))


def outcomes(source: Source) -> Outcomes:
    """Contacts by outcome (with skipped file rows), and calls by attempt number."""
    status = campaign_status(source.journal, retries=0)
    contacts = {k.replace(" ", "_"): int(v) for k, v in status["outcomes"].items()}
    rows = int(source.scalar("SELECT count(*) FROM skipped_rows"))
    if rows:
        contacts["skipped"] = contacts.get("skipped", 0) + rows
    per_attempt: dict[int, dict[str, int]] = {}
    for attempt, key, count in source.rows(
        "SELECT attempt, CASE WHEN open = 1 THEN 'in_call' ELSE outcome END, count(*) "
        "FROM calls WHERE open = 1 OR outcome IS NOT NULL GROUP BY 1, 2"
    ):
        per_attempt.setdefault(int(attempt), {})[str(key)] = int(count)
    by_attempt = tuple(
        AttemptOutcomes(n, sum(c.values()), counts(c, by_outcome=True))
        for n, c in sorted(per_attempt.items())
    )
    return Outcomes(sum(contacts.values()), counts(contacts, by_outcome=True), by_attempt)


def retries(source: Source) -> Retries:
    """Retries done (calls with attempt >= 2), waiting, and abandoned by the run's end."""
    done = int(source.scalar(f"SELECT count(*) FROM calls WHERE attempt >= 2 AND {PLACED}"))
    waiting = int(
        source.scalar(f"SELECT count(*) FROM contacts WHERE state != 'done' AND {HAS_PLACED_CALL}")
    )
    abandoned = int(
        source.scalar(
            "SELECT count(*) FROM contacts WHERE state = 'done' "
            f"AND outcome IN ('expired', 'skipped') AND {HAS_PLACED_CALL}"
        )
    )
    return Retries(done + waiting + abandoned, done, waiting, abandoned)


def errors(source: Source) -> Errors:
    """Requests answered with errors, connects refused, ambiguous POSTs and their fate."""
    api = tuple(
        ApiError(str(r[0]), int(r[1]), r[2], int(r[3]))
        for r in source.rows(
            "SELECT purpose, status, code, count(*) FROM requests "
            "WHERE status >= 400 OR status = 0 GROUP BY 1, 2, 3 ORDER BY 4 DESC, 2, 1"
        )
    )
    absent = _proven_absent_calls(source)
    adopted = int(source.scalar("SELECT count(*) FROM calls WHERE adopted = 1"))
    unresolved = int(source.scalar("SELECT count(*) FROM calls WHERE state = 'ambiguous'"))
    ambiguous = Ambiguous(adopted + len(absent) + unresolved, adopted, len(absent), unresolved)
    refused, network = _not_placed(source, absent)
    return Errors(api, refused, ambiguous, network)


def _not_placed(
    source: Source, absent: set[int]
) -> tuple[tuple[RefusedCall, ...], tuple[RefusedCall, ...]]:
    """Connects that created no call, by (status, code), with the first message of each:
    (refused by Exotel, never answered). An unreachable Exotel or a network error
    (status 0) is not a refusal: listing 250 ConnectErrors as "Exotel refused" sends
    the reader to the wrong fix."""
    groups: dict[tuple[int, str | None], list[Any]] = {}
    for call_id, status, code, message in source.rows(
        "SELECT id, error_status, error_code, error_message FROM calls "
        "WHERE state = 'not_placed' ORDER BY id"
    ):
        if call_id in absent:
            continue
        group = groups.setdefault((int(status or 0), code), [0, str(message or "")])
        group[0] += 1
    ordered = sorted(groups.items(), key=lambda item: (-item[1][0], item[0][0]))
    lines = [
        RefusedCall(status, code, source.text(message), count)
        for (status, code), (count, message) in ordered
    ]
    return (
        tuple(line for line in lines if line.status),
        tuple(line for line in lines if not line.status),
    )


def _proven_absent_calls(source: Source) -> set[int]:
    """Calls reconciliation proved were never created (journaled as run_log proven_absent)."""
    ids: set[int] = set()
    for (data,) in source.rows("SELECT data FROM run_log WHERE kind = 'proven_absent'"):
        call_id = json_object(data).get("call_id")
        if isinstance(call_id, int):
            ids.add(call_id)
    return ids


def tracking(source: Source) -> Tracking:
    """How outcomes were learnt; callbacks missed are calls resolved by polling."""
    by = grouped(
        source, "SELECT resolved_by, count(*) FROM calls WHERE resolved_by IS NOT NULL GROUP BY 1"
    )
    effects = grouped(
        source, "SELECT effect, count(*) FROM events WHERE source = 'callback' GROUP BY 1"
    )
    return Tracking(
        resolved=sum(by.values()),
        resolved_by=counts(by),
        recovered_by_poll=by.get("poll", 0),
        gave_up=by.get("give_up", 0),
        callback_effects=counts(effects),
        polls=int(source.scalar("SELECT coalesce(sum(polls), 0) FROM calls")),
    )


def run_events(source: Source) -> RunEvents:
    """Every run_log kind counted; events listed (first and last halves when too many)."""
    kinds = grouped(source, "SELECT kind, count(*) FROM run_log GROUP BY 1")
    total = sum(kinds.values())
    half = EVENTS_SHOWN // 2
    if total <= EVENTS_SHOWN:
        rows = source.rows("SELECT at, kind, message, data FROM run_log ORDER BY id")
    else:
        rows = source.rows(
            "SELECT at, kind, message, data FROM run_log ORDER BY id LIMIT ?", (half,)
        ) + source.rows(
            "SELECT * FROM (SELECT id, at, kind, message, data FROM run_log ORDER BY id DESC "
            "LIMIT ?) ORDER BY id",
            (half,),
        )
    return RunEvents(total, counts(kinds), collapse(_event(source, row) for row in rows))


def collapse(events: Iterable[RunEvent]) -> tuple[RunEvent, ...]:
    """Identical consecutive events (kind, message, data) as one, with a count and last time.

    A run waiting for retries logs the same line every few minutes; forty copies of
    it hide the three events that matter.
    """
    out: list[RunEvent] = []
    for event in events:
        last = out[-1] if out else None
        if last is not None and (last.kind, last.message, last.data) == (
            event.kind,
            event.message,
            event.data,
        ):
            out[-1] = replace(last, count=last.count + 1, last_at=event.at)
        else:
            out.append(event)
    return tuple(out)


def _event(source: Source, row: Any) -> RunEvent:
    data = json_object(row["data"])
    kind = str(row["kind"])
    return RunEvent(
        at=source.when(float(row["at"])),
        kind=kind,
        level="warning" if kind in WARNING_KINDS else "info",
        message=source.text(str(row["message"])),
        data=mask_data(data) if source.mask else data,
    )
