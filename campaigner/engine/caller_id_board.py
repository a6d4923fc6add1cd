"""The health of a run's caller IDs, and every switch journaled.

:class:`CallerIdBoard` is the one place that changes which ExoPhones the dialer may
use (:class:`~campaigner.engine.open_calls.CallerIds`): a caller ID whose outgoing
connectivity is down is taken out of rotation, or replaced by a healthy alternate
when the campaign allows failover; when it recovers it returns. Each change is a
``run_log`` event (``caller_id_down``, ``failover``, ``caller_id_up``, and ``paused`` /
``resumed`` when no caller ID is left / one is back) and shows in the progress
display. It decides nothing by itself: :mod:`campaigner.engine.health_monitor` feeds it
heartbeats and v2 details.
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigner.campaign.resolved import ResolvedCallerId
from campaigner.engine.context import RunContext
from campaigner.phones import InvalidPhoneNumber, national, normalise


@dataclass(slots=True)
class PhoneHealth:
    """One caller ID: up or down, why, and the alternate used instead (failover)."""

    caller_id: ResolvedCallerId
    up: bool = True
    why: str = ""
    alternate: str | None = None  # E.164 number of the alternate in use


class CallerIdBoard:
    """The caller IDs of a run, their health, and the events their changes write."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.phones = {cid.sid: PhoneHealth(cid) for cid in ctx.caller_ids.all}
        self._sid_by_number = {cid.number: cid.sid for cid in ctx.caller_ids.all}
        self._paused = False

    def sid_of(self, number: str) -> str:
        """The SID of an ExoPhone number: ours as configured, else its national form.

        000: "phone_number_sid ... may not always be same as your phone number"; for
        Indian ExoPhones Exotel's SIDs are the 0-prefixed national form.
        """
        return self._sid_by_number.get(number) or national(number)

    def mark_down(self, sid: str, why: str, source: str) -> bool:
        """Stop using ``sid`` for new calls; True if it was up."""
        phone = self.phones[sid]
        if not phone.up:
            return False
        phone.up, phone.why = False, why
        self.ctx.caller_ids.set_down(sid)
        number = phone.caller_id.number
        self.ctx.note(
            "caller_id_down",
            f"caller ID {number} is not used for new calls: {why}",
            exophone=sid,
            number=number,
            reason=why,
            source=source,
        )
        self._changed()
        return True

    def drop_alternate(self, sid: str, why: str) -> None:
        """The alternate in use for ``sid`` is unhealthy too: stop using it."""
        phone = self.phones[sid]
        if phone.alternate is None:
            return
        alternate, phone.alternate = phone.alternate, None
        self.ctx.caller_ids.set_down(sid)
        self.ctx.note(
            "failover",
            f"the alternate {alternate} of caller ID {phone.caller_id.number} is not used "
            f"any more: {why}",
            exophone=sid,
            number=phone.caller_id.number,
            alternate=None,
            previous=alternate,
        )
        self._changed()

    def use_alternate(self, sid: str, alternate: str) -> None:
        """Failover: calls that would use ``sid`` use ``alternate`` (a healthy ExoPhone)."""
        phone = self.phones[sid]
        if phone.up or phone.alternate == alternate:
            return
        phone.alternate = alternate
        self.ctx.caller_ids.set_down(sid, alternate)
        self.ctx.note(
            "failover",
            f"caller ID {phone.caller_id.number} is down: calls use its alternate {alternate}",
            exophone=sid,
            number=phone.caller_id.number,
            alternate=alternate,
            alternate_sid=self.sid_of(alternate),
        )
        self._changed()

    def mark_up(self, sid: str, source: str) -> None:
        """``sid`` is healthy: it returns to the rotation."""
        phone = self.phones[sid]
        if phone.up:
            return
        alternate = phone.alternate
        phone.up, phone.why, phone.alternate = True, "", None
        self.ctx.caller_ids.set_up(sid)
        self.ctx.note(
            "caller_id_up",
            f"caller ID {phone.caller_id.number} is healthy again and back in use",
            exophone=sid,
            number=phone.caller_id.number,
            alternate=alternate,
            source=source,
        )
        self._changed()

    def down(self) -> list[PhoneHealth]:
        return [p for p in self.phones.values() if not p.up]

    def _changed(self) -> None:
        usable = self.ctx.caller_ids.usable()
        down = self.down()
        if usable == 0 and not self._paused:
            self._paused = True
            self.ctx.note(
                "paused",
                "every caller ID is down: dialing paused until one recovers "
                "(no attempt is spent meanwhile)",
                reason="caller_ids_down",
                exophones=[p.caller_id.sid for p in down],
            )
        elif usable and self._paused:
            self._paused = False
            self.ctx.note("resumed", "a caller ID is usable again: dialing resumes")
            self.ctx.wake_dialer.set()
        self.ctx.stats.caller_ids_note = _summary(self.phones, usable) if down else None


def _summary(phones: dict[str, PhoneHealth], usable: int) -> str:
    parts = []
    for phone in phones.values():
        if not phone.up:
            via = f" (calls via {phone.alternate})" if phone.alternate else ""
            parts.append(f"{phone.caller_id.number} down{via}")
    return f"caller IDs: {usable} of {len(phones)} usable; " + ", ".join(parts)


def e164(raw: str) -> str | None:
    """An ExoPhone number as Exotel wrote it (E.164 or national), normalised; None if not one."""
    try:
        return normalise(raw)
    except InvalidPhoneNumber:
        return None
