"""Walk the campaign model's fields: for did-you-mean suggestions and the docs/schema test.

The model (``campaigner.campaign.model``) is the single source of the file format;
these helpers read it rather than repeating key names anywhere else.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from campaigner.campaign.model import Campaign


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One key of the file format: its dotted path (list items do not add a level)."""

    path: str
    field: FieldInfo
    owner: type[BaseModel]

    @property
    def required(self) -> bool:
        return self.field.is_required()

    @property
    def default(self) -> Any:
        """The default value as a file would spell it (``None`` for required keys)."""
        if self.field.default_factory is not None:
            return self.field.default_factory()  # type: ignore[call-arg]
        return None if self.field.default is PydanticUndefined else self.field.default


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModel classes a field annotation can hold (through unions, lists, Annotated)."""
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset):
        for arg in typing.get_args(annotation):
            for model in models_in(arg):
                if model not in found:
                    found.append(model)
    return found


def iter_keys(model: type[BaseModel] = Campaign, prefix: str = "") -> Iterator[KeyInfo]:
    """Every key path of the format, depth first, in declaration order, each once."""
    seen: set[str] = set()
    yield from _iter_keys(model, prefix, seen)


def _iter_keys(model: type[BaseModel], prefix: str, seen: set[str]) -> Iterator[KeyInfo]:
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        if path not in seen:
            seen.add(path)
            yield KeyInfo(path, info, model)
        for sub in models_in(info.annotation):
            yield from _iter_keys(sub, path + ".", seen)


def keys_at(loc: Sequence[str | int]) -> list[str] | None:
    """Field names of the model that pydantic's ``loc`` (without the last part) points into.

    Union tags in ``loc`` (a model's class name, a discriminator value) select the
    member; ``None`` when the location is not inside a model (e.g. a free mapping).
    """
    candidates: list[type[BaseModel]] = [Campaign]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        chosen = _choose(candidates, part)
        if chosen is not None:
            candidates = [chosen]
            continue
        owners = [m for m in candidates if part in m.model_fields]
        if not owners:
            continue  # a union tag such as 'list[PlaybackOption]'
        candidates = models_in(owners[0].model_fields[part].annotation)
        if not candidates:
            return None
    if len(candidates) != 1:
        candidates = [m for m in candidates if not _is_plain(m)] or candidates
    names: list[str] = []
    for model in candidates:
        names.extend(n for n in model.model_fields if n not in names)
    return names


def _choose(candidates: list[type[BaseModel]], tag: str) -> type[BaseModel] | None:
    """The union member that a pydantic loc tag names (class name or discriminator value)."""
    if len(candidates) < 2 and not any(m.__name__ == tag for m in candidates):
        return None
    for model in candidates:
        if model.__name__ == tag:
            return model
        mode = model.model_fields.get("mode")
        if mode is not None and typing.get_args(mode.annotation) == (tag,):
            return model
    return None


def _is_plain(model: type[BaseModel]) -> bool:
    return not model.model_fields
