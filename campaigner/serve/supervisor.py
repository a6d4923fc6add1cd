"""The serve's supervisor: the folder is the desired state, each campaign file a service.

Why it is built this way:
- Each campaign is a task of ONE nursery (the serve's), started with ``task_status``
  once its first run is wired; a campaign's failure is its own (logged, shown on the
  status page, retried later) and never takes the others down.
- The folder is polled (content digest of each campaign file and of its contacts file,
  every ``poll`` seconds): a changed file is loaded and validated first. A version that
  does not validate changes nothing: the campaign keeps running on its last valid
  version, and the problem is logged as an error, kept on the status page and journaled
  (so the report shows it). A valid new version stops the running one at a safe point
  (campaigner.serve.service) and resumes the campaign from its journal with the new
  file, exactly what ``campaigner run`` does on a resume: new contacts join, removed
  ones are not called, changed options apply to calls not yet placed.
- ``paused: true`` in the file (a reviewed change) stops dialing the same way and
  journals the pause; ``paused: false`` resumes it. A deleted file stops its campaign
  (resumable: put the file back).
- A run that ends (every contact final, deadline) waits for the file to change; one
  that stops resumable (breaker, Exotel unreachable, a state problem) is retried after
  ``retry_after`` seconds, or at once when its file changes.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import trio

from campaigner.campaign.loader import load_campaign
from campaigner.campaign.resolved import LoadedCampaign
from campaigner.errors import CampaignerError, CampaignInvalid
from campaigner.logs import say
from campaigner.serve.service import Host, Live, run_once
from campaigner.store.journal import Journal

log = logging.getLogger("campaigner.serve")

PATTERNS = ("*.yaml", "*.yml")
RETRY_AFTER = 300.0
MAX_ERRORS = 10


@dataclass
class Campaign:
    """One campaign file and what the serve knows of it (the status page reads this)."""

    path: Path
    digest: str = ""  # of the version last seen (valid or not)
    loaded: LoadedCampaign | None = None  # the last valid version
    state: str = "starting"  # starting|running|stopping|paused|done|waiting|invalid|removed
    problem: str | None = None  # why the newest version is not applied
    reason: str | None = None  # how the last run ended
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_ERRORS))
    live: Live | None = None
    changed: trio.Event = field(default_factory=trio.Event)
    removed: bool = False

    @property
    def key(self) -> str:
        return str(self.path)

    def error(self, message: str, at: str) -> None:
        self.errors.append(f"{at} {message}")


def stamp(path: Path, loaded: LoadedCampaign | None) -> str | None:
    """The file's bytes, and its contacts file's size and mtime (a contacts file edited in
    place changes the campaign too); None if the campaign file is gone."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    contacts = ""
    name = getattr(loaded.campaign.contacts, "file", None) if loaded is not None else None
    if loaded is not None and name:
        try:
            stat = (loaded.base_dir / str(name)).stat()
            contacts = f":{stat.st_mtime_ns}:{stat.st_size}"
        except OSError:
            contacts = ":gone"
    return hashlib.sha256(data).hexdigest() + contacts


class Supervisor:
    """Runs every campaign file of ``folder``; see the module docstring."""

    def __init__(
        self,
        folder: Path,
        host: Host,
        *,
        poll: float = 10.0,
        grace: float = 60.0,
        retry_after: float = RETRY_AFTER,
        report: Callable[[str], None] | None = None,
        on_run_end: Callable[[Campaign], Awaitable[None]] | None = None,
    ) -> None:
        self.folder = folder
        self.host = host
        self.poll = poll
        self.grace = grace
        self.retry_after = retry_after
        self.campaigns: dict[Path, Campaign] = {}
        self.stopping = False
        self._report = report
        self._on_run_end = on_run_end
        self._nursery: trio.Nursery | None = None

    async def run(
        self, *, task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Scan, start every campaign, then watch the folder until cancelled or stopped."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await self.scan()
            task_status.started(self)
            while not self.stopping:
                await trio.sleep(self.poll)
                if not self.stopping:
                    await self.scan()

    async def stop(self) -> None:
        """Graceful: no campaign dials any more; calls in flight are followed for the
        grace period, then every run ends (journaled; the next serve resumes them)."""
        self.stopping = True
        async with trio.open_nursery() as nursery:
            for campaign in self.campaigns.values():
                if campaign.live is not None:
                    nursery.start_soon(partial(campaign.live.stop, self.grace, follow=True))
        for campaign in self.campaigns.values():
            campaign.changed.set()

    def files(self) -> list[Path]:
        found = {p for pattern in PATTERNS for p in self.folder.glob(pattern) if p.is_file()}
        return sorted(found)

    async def scan(self) -> None:
        """Notice new, changed and removed campaign files."""
        assert self._nursery is not None
        present = set(self.files())
        for path in present:
            campaign = self.campaigns.get(path)
            if campaign is None:
                campaign = Campaign(path)
                self.campaigns[path] = campaign
                self._apply(campaign, first=True)
                campaign.digest = stamp(path, campaign.loaded) or ""
                await self._nursery.start(self._serve_one, campaign)
                continue
            now = stamp(path, campaign.loaded)
            if now is None or (now == campaign.digest and not campaign.removed):
                continue
            valid = self._apply(campaign, first=False)
            campaign.digest = stamp(path, campaign.loaded) or ""  # judged once per version
            if valid:
                campaign.changed.set()
        for path, campaign in self.campaigns.items():
            if path not in present and not campaign.removed:
                campaign.removed = True
                self._say(f"{path}: file removed: its campaign stops (put it back to resume)")
                campaign.changed.set()

    def _apply(self, campaign: Campaign, *, first: bool) -> bool:
        """Load the file's newest version; True when it is valid (and now the desired state)."""
        try:
            loaded = load_campaign(campaign.path, self.host.clock)
        except (CampaignInvalid, CampaignerError) as exc:
            what = (
                "cannot start"
                if first or campaign.loaded is None
                else "keeps running the last valid version"
            )
            message = (
                f"{campaign.path}: the new version does not validate; the campaign {what}: {exc}"
            )
            campaign.problem = str(exc)
            campaign.error(message, self._stamp())
            if campaign.loaded is None:
                campaign.state = "invalid"
            self._say(message, logging.ERROR)
            self._journal(campaign, "invalid_change", message)
            return False
        if campaign.removed:
            campaign.removed = False
        campaign.problem = None
        campaign.loaded = loaded
        if not first:
            self._say(f"{campaign.path}: new version applied at the next safe point")
            self._journal(campaign, "file_changed", "a new version of the file was applied")
        return True

    async def _serve_one(
        self, campaign: Campaign, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """The campaign's service: run it, restart it on changes, until the serve stops."""
        started = False
        while not self.stopping:
            loaded = campaign.loaded
            campaign.changed = trio.Event()
            if loaded is None or campaign.removed:
                campaign.state = "removed" if campaign.removed else "invalid"
                if not started:
                    task_status.started()
                    started = True
                await campaign.changed.wait()
                continue
            if loaded.campaign.paused:
                if campaign.state != "paused":
                    self._journal(campaign, "paused", "paused from the campaign file")
                    self._say(f"{campaign.path}: paused (paused: true in the file)")
                campaign.state = "paused"
                if not started:
                    task_status.started()
                    started = True
                await campaign.changed.wait()
                continue
            if campaign.state == "paused":
                self._journal(campaign, "resumed", "resumed from the campaign file")
                self._say(f"{campaign.path}: resumed (paused removed from the file)")
            live = Live(campaign.key)
            campaign.live = live
            campaign.state = "running"
            if not started:
                task_status.started()
                started = True
            wait = math.inf
            async with trio.open_nursery() as watch:
                watch.start_soon(self._stop_on_change, campaign, live)
                try:
                    result = await run_once(self.host, loaded, live, self._report or _quiet)
                except CampaignerError as exc:
                    message = f"{campaign.path}: the run failed: {exc}"
                    campaign.error(message, self._stamp())
                    campaign.reason = "failed"
                    self._say(message, logging.ERROR)
                    wait = self.retry_after
                    result = None
                else:
                    if result is not None:
                        campaign.reason = result.reason
                        if result.reason in ("complete", "deadline"):
                            campaign.state = "done"
                        else:
                            for why in result.messages:
                                campaign.error(why, self._stamp())
                            wait = self.retry_after
                        self._say(f"{campaign.path}: run ended: {result.reason} {result.counts}")
                watch.cancel_scope.cancel()
            campaign.live = None
            if self._on_run_end is not None:  # the report, written as `run` writes it
                await self._on_run_end(campaign)
            if live.stopping:
                continue  # a change, a pause, a removal or the serve stopping: loop decides
            if campaign.state != "done":
                campaign.state = "waiting"
            with trio.move_on_after(wait):
                await campaign.changed.wait()

    async def _stop_on_change(self, campaign: Campaign, live: Live) -> None:
        await campaign.changed.wait()
        await live.stop(self.grace)

    def _journal(self, campaign: Campaign, kind: str, message: str) -> None:
        """Journal a serve-level event in the campaign's journal (read by the report)."""
        loaded = campaign.loaded
        if loaded is None or not loaded.journal_path.exists():
            return
        if campaign.live is not None and campaign.live.ctx is not None:
            campaign.live.ctx.journal.log(campaign.live.ctx.now(), kind, message)
            return
        try:
            with Journal.open(loaded.journal_path) as journal:
                journal.log(self.host.clock.now().timestamp(), kind, message)
        except CampaignerError as exc:
            log.debug("could not journal %s for %s: %s", kind, campaign.path, exc)

    def _stamp(self) -> str:
        return self.host.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def _say(self, message: str, level: int = logging.INFO) -> None:
        say(message, level)


def _quiet(message: str) -> None:
    log.info(message)
