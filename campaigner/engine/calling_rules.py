"""Frequency cap and minimum gap at dial time, across campaigns sharing a state directory.

Every call a run places is recorded, at intent time, in ``<state>/shared.sqlite3``,
whatever the campaign's own rules: another campaign's cap must count it. Before a
contact is dialed, a campaign with ``screening.frequency_cap`` or ``min_gap`` asks for
the earliest instant one more call to the number is allowed; a contact that must wait
is deferred to that instant (it is not a skip), unless no calling window is left by
then: it ends ``skipped``, reason ``frequency_cap``. The check is repeated inside the
write transaction that records the call, so two live runs cannot both pass a cap of one.
"""

from __future__ import annotations

from campaigner.engine.context import RunContext
from campaigner.engine.open_calls import OpenCall
from campaigner.screening.frequency import CallingRules
from campaigner.screening.rule import FrequencyRule
from campaigner.store.journal import ContactRow


class CallingRulesGate:
    """The dialer's side of ``screening.frequency_cap`` and ``screening.min_gap``."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.campaign = ctx.history_key
        # the campaign's cap and gap live in its rule, not in the run's context
        self.rule = FrequencyRule(
            CallingRules.of(ctx.loaded.campaign.screening), ctx.shared, ctx.schedule
        )

    def allows(self, row: ContactRow, now: float) -> bool:
        """True if ``row`` may be dialed now; else it was deferred (or skipped) already."""
        if not self.rule.rules.active:
            return True
        allowed = self.rule.earliest(row.phone, now)
        if allowed <= now:
            return True
        self.hold(row, allowed, now)
        return False

    def claim(self, row: ContactRow, now: float) -> bool:
        """Record the call about to be placed; False (and the contact held) if a race lost."""
        allowed = self.ctx.shared.claim_call(row.phone, now, self.rule.rules, self.campaign)
        if allowed is None:
            return True
        self.hold(row, allowed, now)
        return False

    def release(self, phone: str, intent_at: float) -> None:
        """The call was never created: it does not count against any cap."""
        self.ctx.shared.release_call(phone, intent_at, self.campaign)

    def release_call(self, call: OpenCall) -> None:
        self.release(call.phone, call.intent_at)

    def hold(self, row: ContactRow, allowed: float, now: float) -> None:
        """Defer ``row`` to ``allowed``, or skip it when no window is left by then."""
        ctx, reason = self.ctx, self.rule.reason
        when = self.rule.ruling_at(allowed).until
        if when is None:
            ctx.journal.finish_contact(row.id, "skipped", reason, now)
            ctx.stats.outcomes["skipped"] += 1
            ctx.stats.screening_skipped[reason] += 1
            first = ctx.stats.screening_skipped[reason] == 1
            action = "skipped: no calling window is left before the rules allow a call"
        else:
            ctx.journal.defer_contact(row.id, allowed, now)
            ctx.stats.frequency_deferred += 1
            first = ctx.stats.frequency_deferred == 1
            action = f"deferred to {when:%d %b %H:%M %Z}"
        ctx.screening.consumed.set()
        if first:  # one event per kind of decision; the counts come in the summary
            ctx.note(
                "frequency_capped",
                f"{row.phone} was called recently (screening.frequency_cap/min_gap): {action}",
                phone=row.phone,
                allowed_at=allowed,
            )

    def summary(self) -> None:
        """A run_log line with what the rules did in this run (if anything)."""
        stats = self.ctx.stats
        skipped = stats.screening_skipped.get(self.rule.reason, 0)
        if stats.frequency_deferred or skipped:
            self.ctx.note(
                "frequency_capped",
                f"frequency cap / minimum gap: {stats.frequency_deferred} calls deferred, "
                f"{skipped} contacts skipped",
                deferred=stats.frequency_deferred,
                skipped=skipped,
            )
