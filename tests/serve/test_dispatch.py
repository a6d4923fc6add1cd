"""The serve's one receiver: each run's token reaches that run's receiver, and only it."""

from __future__ import annotations

import httpx
import trio
import trio.testing

from campaigner.domain import CallObservation
from campaigner.engine.receiver import CallbackReceiver
from campaigner.serve.dispatch import Dispatch

V1_BODY = {
    "CallSid": "abc123",
    "Status": "completed",
    "DateUpdated": "2026-11-23 10:00:05",
}


def receiver(token: str, seen: list[CallObservation]) -> CallbackReceiver:
    return CallbackReceiver(token, seen.append, heartbeat_token="beat")


async def post(app: Dispatch, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
        return await client.post(path, data=data or V1_BODY)


async def test_callbacks_reach_the_run_their_token_names(
    autojump_clock: trio.testing.MockClock,
) -> None:
    one: list[CallObservation] = []
    two: list[CallObservation] = []
    dispatch = Dispatch()
    dispatch.attach("one.yaml", receiver("token-one", one), ("token-one", "older-one"))
    dispatch.attach("two.yaml", receiver("token-two", two), ("token-two",))
    assert (await post(dispatch, "/exotel/token-two/v1")).status_code == 200
    assert (len(one), len(two)) == (0, 1)
    assert (await post(dispatch, "/token-one/v1")).status_code == 200  # prefix stripped
    assert (len(one), len(two)) == (1, 1)
    # a token no live run holds: refused before its body is read
    assert (await post(dispatch, "/exotel/someone-else/v1")).status_code == 403
    assert dispatch.unknown == 1
    dispatch.detach("two.yaml")  # the run ended: its token is refused
    assert (await post(dispatch, "/exotel/token-two/v1")).status_code == 403
    assert dispatch.campaigns() == {"one.yaml"}


async def test_a_heartbeat_goes_to_every_live_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    dispatch = Dispatch()
    apps = [receiver(f"token-{i}", []) for i in range(3)]
    for i, app in enumerate(apps):
        dispatch.attach(f"{i}.yaml", app, (f"token-{i}",))
    answer = await post(dispatch, "/exotel/heartbeat/wrong-secret", {"x": "y"})
    assert answer.status_code == 403
    assert [a.stats.refused for a in apps] == [1, 1, 1]


async def test_the_status_page_needs_its_secret(autojump_clock: trio.testing.MockClock) -> None:
    dispatch = Dispatch("page-secret")
    dispatch.status_page = lambda as_html: (
        ("text/html", b"<p>page</p>") if as_html else ("application/json", b"{}")
    )
    transport = httpx.ASGITransport(app=dispatch)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
        assert (await client.get("/status/page-secret")).json() == {}
        assert (await client.get("/status/page-secret/html")).text == "<p>page</p>"
        assert (await client.get("/status/page-secre")).status_code == 403
        assert (await client.get("/status")).status_code == 404
    assert (await post(Dispatch(), "/status/page-secret")).status_code == 403  # no page
