"""Load a scenario YAML file, reporting every problem as ``file:line:col: key: message``.

ruamel's round-trip loader keeps positions (``.lc``); pydantic's error ``loc`` is walked
through them to a file:line:col, as the campaign loader does. Problems are raised together as
:class:`campaigner.errors.CampaignInvalid`, whose ``problems`` the command line prints
one per line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from campaigner.errors import CampaignInvalid, Problem
from campaigner.simulator.scenario import Scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise CampaignInvalid listing every problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignInvalid([Problem(name, 0, 0, f"cannot read: {exc.strerror}")]) from None
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise CampaignInvalid([Problem(name, line, col, str(exc.problem))]) from None
    try:
        return Scenario.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise CampaignInvalid(_problems(name, data, exc)) from None


def _problems(name: str, data: Any, exc: ValidationError) -> list[Problem]:
    errors = exc.errors(include_url=False)
    locs = [tuple(err["loc"]) for err in errors]
    problems = []
    for err, loc in zip(errors, locs, strict=True):
        if any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs):
            continue  # a container's complaint caused by an item already reported
        line, col = locate(data, loc, err["type"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/simulator.md)"
        where = ".".join(str(part) for part in loc)
        problems.append(Problem(name, line, col, f"{where}: {message}" if where else message))
    return sorted(problems, key=lambda problem: (problem.line, problem.col))


def locate(root: Any, loc: tuple[Any, ...], err_type: str = "") -> tuple[int, int]:
    """1-based (line, col) of the YAML node a pydantic ``loc`` points at (0, 0 if none)."""
    node = root
    pos = (node.lc.line, node.lc.col) if isinstance(node, CommentedMap | CommentedSeq) else None
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, CommentedMap):
            key = next((k for k in node if str(k) == str(part)), None)
            if key is None:
                continue  # a missing field or a union tag: keep the enclosing node
            want_key = last and err_type == "extra_forbidden"
            pos = node.lc.key(key) if want_key else node.lc.value(key)
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            pos = node.lc.item(part)
            node = node[part]
    return (pos[0] + 1, pos[1] + 1) if pos else (0, 0)
