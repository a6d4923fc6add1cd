"""One contact, one attempt -> one :class:`~campaigner.domain.CallSpec`. Pure.

The engine calls :func:`compile_call` at dial time, with the caller ID and agent
it chose; ``plan --show`` calls it with the same rotation the engine would use.
Exotel's field names are not known here: ``campaigner.exotel`` renders the spec
into the v1 form or the v3 JSON body.
"""

from __future__ import annotations

from collections.abc import Mapping

from campaigner.campaign.resolved import Contact, LoadedCampaign, ResolvedAgent
from campaigner.campaign.templates import template_context
from campaigner.domain import CallbackEvent, CallSpec, Playback
from campaigner.exotel.registry import api_version


def callback_url(public_url: str, token: str, api: str) -> str:
    """The status-callback URL for a run: the public URL plus ``/<token>/<api>``.

    The receiver matches the last two path segments, so a reverse proxy may keep
    or strip the public URL's own path prefix.
    """
    return f"{public_url.rstrip('/')}/{token}/{api}"


def compile_call(
    loaded: LoadedCampaign,
    contact: Contact,
    *,
    attempt: int,
    caller_id: str,
    agent: ResolvedAgent | None,
    status_callback: str | None,
) -> CallSpec:
    """The exact call to request for ``contact``'s attempt number ``attempt`` (1-based)."""
    campaign = loaded.campaign
    call = campaign.call
    context = template_context(campaign.name, contact, attempt)

    def text(key: str, literal: str | None) -> str | None:
        if literal is None:
            return None
        return _render(loaded, key, literal, context)

    first, second, state_management = _legs(loaded, contact, agent)
    recording = call.recording
    streaming = call.streaming
    events: tuple[CallbackEvent, ...] = tuple(campaign.callbacks.events)
    if "terminal" not in events:
        events = ("terminal", *events)
    return CallSpec(
        api=campaign.api,
        first_leg=first,
        second_leg=second,
        flow_app_id=getattr(campaign.dial, "app_id", None),
        caller_id=caller_id,
        state_management=state_management,
        call_type=call.call_type,
        time_limit=call.time_limit,
        ring_timeout=call.ring_timeout,
        wait_audio_url=text("call.wait_audio_url", call.wait_audio_url),
        record=recording.record if recording else None,
        recording_channels=recording.channels if recording else None,
        recording_format=recording.format if recording else None,
        custom_field=text("call.custom_field", call.custom_field),
        stream_url=text("call.streaming.url", streaming.url) if streaming else None,
        stream_begin=streaming.begin if streaming else None,
        playback=tuple(
            Playback(
                url=_render(loaded, f"call.playback.{i}.url", p.url, context), to=p.to, event=p.when
            )
            for i, p in enumerate(campaign.playbacks())
        ),
        status_callback_url=status_callback,
        callback_events=events if status_callback else (),
        callback_content_type=campaign.callbacks.content_type if status_callback else None,
        callback_method=(
            campaign.callbacks.method
            if status_callback and api_version(campaign.api).capabilities.callback_method
            else None
        ),
    )


def _legs(
    loaded: LoadedCampaign, contact: Contact, agent: ResolvedAgent | None
) -> tuple[str, str | None, bool | None]:
    mode = loaded.campaign.dial.mode
    if mode == "agent_first":
        if agent is None:
            raise ValueError("agent_first calls need an agent")
        return agent.uri, contact.phone, agent.state_management
    if mode == "contact_first":
        target = agent.uri if agent is not None else loaded.connect_to
        if target is None:
            raise ValueError("contact_first calls need an agent or connect_to")
        return contact.phone, target, None
    return contact.phone, None, None


def _render(loaded: LoadedCampaign, key: str, literal: str, context: Mapping[str, object]) -> str:
    if key in loaded.templates:
        return loaded.templates.render(key, context)
    return literal
