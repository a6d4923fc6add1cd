"""No module outside campaigner.exotel and campaigner.simulator branches on an API version's
name: they read the version's description (campaigner.exotel.registry.api_version), so a new
version is new modules under exotel/ (and the simulator) and one registry entry.

The scan is over the syntax tree, so a comment or a docstring that says "v1" is fine;
what is refused is comparing with a version's name (``api == "v1"``, ``route in ("v1",
"v3")``, ``match api: case "v3"``) or keying a table by it (``{"v1": 0.97, ...}``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import campaigner
from campaigner.exotel.registry import REGISTRY

PACKAGE = Path(campaigner.__file__).parent
ALLOWED = ("exotel", "simulator")  # the versions' own modules and Exotel's stand-in
NAMES = frozenset(REGISTRY)


def _names_in(node: ast.AST) -> list[str]:
    """The version names ``node`` is, or holds as a tuple, list or set of constants."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) and node.value in NAMES else []
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [name for item in node.elts for name in _names_in(item)]
    return []


def version_branches(source: str, filename: str = "<src>") -> list[str]:
    """``file:line: what`` for every comparison with, case on, or table keyed by a name."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Compare):
            names = [n for part in (node.left, *node.comparators) for n in _names_in(part)]
        elif isinstance(node, ast.MatchValue):
            names = _names_in(node.value)
        elif isinstance(node, ast.Dict):
            names = [n for key in node.keys if key is not None for n in _names_in(key)]
        if names:
            line = getattr(node, "lineno", 0)
            found.append(f"{filename}:{line}: {type(node).__name__} on {', '.join(names)}")
    return found


def test_no_module_outside_exotel_branches_on_the_version_name() -> None:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ALLOWED:
            continue
        found += version_branches(path.read_text(encoding="utf-8"), str(relative))
    assert found == [], "read campaigner.exotel.registry.api_version(name) instead"


@pytest.mark.parametrize(
    "source",
    [
        'if api == "v1":\n    pass\n',
        'x = "v3" != campaign.api\n',
        'ok = route not in ("v1", "v3")\n',
        'share = {"v1": 0.97, "v3": 0.8}\n',
        'match api:\n    case "v3":\n        pass\n',
    ],
)
def test_the_scan_finds_each_kind_of_branch(source: str) -> None:
    assert len(version_branches(source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        '"""v1 and v3 in a docstring."""\n',
        'spec = build(api="v3")\n',  # naming a version is not branching on it
        'if api == "v1_base":\n    pass\n',
        'if api_version(api).polling == "bulk_rounds":\n    pass\n',
    ],
)
def test_the_scan_leaves_naming_alone(source: str) -> None:
    assert version_branches(source) == []
