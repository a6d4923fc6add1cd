"""docs/architecture.md's layers hold: no module imports a layer it may not.

Every ``campaigner`` import (lazy ones inside functions included) is checked against
the table in docs/architecture.md, section 2: a layer imports only the layers listed
before it, the report never the engine, and the simulator nothing but foundations.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "campaigner"

# In the order of docs/architecture.md's table; a module belongs to the first layer
# with a matching prefix (a prefix matches the module and everything under it).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundations",
        (
            "campaigner.errors",
            "campaigner.settings",
            "campaigner.clock",
            "campaigner.phones",
            "campaigner.domain",
            "campaigner.asgi",
            "campaigner.logs",
            "campaigner.tidy",
        ),
    ),
    ("exotel", ("campaigner.exotel",)),
    ("campaign", ("campaigner.campaign", "campaigner.schedule")),
    (
        "pure core",
        (
            "campaigner.compile",
            "campaigner.outcomes",
            "campaigner.policy",
            "campaigner.screening.dnd",
            "campaigner.screening.frequency",
            "campaigner.screening.optout",
        ),
    ),
    ("store", ("campaigner.store",)),
    ("screening rules", ("campaigner.screening.rule",)),
    ("engine", ("campaigner.engine",)),
    ("report", ("campaigner.report",)),
    ("simulator", ("campaigner.simulator",)),
    ("serve", ("campaigner.serve",)),
    ("commands", ("campaigner.commands", "campaigner.cli", "campaigner.sandbox")),
]
# Layers that may import less than every layer before them.
ONLY: dict[str, set[str]] = {
    "report": {"foundations", "exotel", "store", "report"},
    "simulator": {"foundations", "simulator"},
}
PACKAGES = {"campaigner", "campaigner.screening", "campaigner.__main__"}  # no layer


def layer_of(module: str) -> str | None:
    if module in PACKAGES:
        return None
    for name, prefixes in LAYERS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name
    raise AssertionError(f"{module}: in no layer of docs/architecture.md")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every campaigner module ``path`` imports, with its line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            if base.startswith("campaigner"):
                for alias in node.names:  # "from campaigner.engine import verify"
                    sub = f"{base}.{alias.name}"
                    found.append((node.lineno, sub if _is_module(sub) else base))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("campaigner")]
    return found


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


ORDER = {name: i for i, (name, _) in enumerate(LAYERS)}
SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    assert all(layer_of(module_name(p)) or module_name(p) in PACKAGES for p in SOURCES)


def violations(mine: str, found: list[tuple[int, str]]) -> list[str]:
    """The imports a module of layer ``mine`` may not make."""
    wrong = []
    for line, target in found:
        theirs = layer_of(target)
        if theirs is None:
            continue
        allowed = ONLY.get(mine)
        ok = theirs in allowed if allowed is not None else ORDER[theirs] <= ORDER[mine]
        if not ok:
            wrong.append(f"line {line}: {mine} imports {theirs} ({target})")
    return wrong


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_follow_the_layers(path: Path) -> None:
    mine = layer_of(module_name(path))
    if mine is not None:
        assert not violations(mine, imports(path)), path


def test_the_check_catches_a_wrong_import(tmp_path: Path) -> None:
    """The check itself: lazy imports are seen, and a layer reaching up is refused."""
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from campaigner.engine import verify\n    import campaigner.store.journal\n"
    )
    found = imports(module)
    assert found == [(2, "campaigner.engine.verify"), (3, "campaigner.store.journal")]
    assert violations("simulator", found) == [
        "line 2: simulator imports engine (campaigner.engine.verify)",
        "line 3: simulator imports store (campaigner.store.journal)",
    ]
    assert violations("report", found) == [
        "line 2: report imports engine (campaigner.engine.verify)"
    ]
    assert violations("store", found) == ["line 2: store imports engine (campaigner.engine.verify)"]
    assert violations("serve", found) == []
