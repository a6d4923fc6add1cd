"""The container image, checked without docker (it cannot run here): its command line is
a valid ``campaigner serve``, and its install step is the package as pyproject says,
at the versions the tests ran with."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

from campaigner.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def exec_form(name: str) -> list[str]:
    found = [json.loads(rest) for word, rest in instructions() if word == name]
    assert len(found) == 1, f"one {name} in exec form"
    value: list[str] = found[0]
    return value


def test_the_images_command_is_a_valid_campaigner_serve() -> None:
    entry, cmd = exec_form("ENTRYPOINT"), exec_form("CMD")
    assert entry == ["campaigner"]  # the console script pyproject installs
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["campaigner"] == "campaigner.cli:main"
    args = build_parser().parse_args(cmd)
    assert args._run.__module__ == "campaigner.commands.serve"
    assert args.folder == "/campaigns"
    assert args.listen.endswith(":8080")
    assert ("EXPOSE", "8080") in instructions()
    assert args.log_format == "json"
    assert args.grace < 10  # under docker stop's default 10 s before SIGKILL


def test_the_install_step_builds_the_package_pyproject_describes() -> None:
    steps = instructions()
    copied = [p for word, rest in steps if word == "COPY" for p in rest.split()[:-1]]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {
        "pyproject.toml",
        "constraints.txt",
        pyproject["project"]["readme"],
        *pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"],
        *pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"],
    }
    assert needed <= set(copied), f"not copied into the image: {needed - set(copied)}"
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in needed:
        assert not any(fnmatch.fnmatch(path, pattern) for pattern in ignored), path
    run = " ".join(rest for word, rest in steps if word == "RUN")
    assert re.search(r"pip install [^&]*-c constraints\.txt \.(\s|$)", run), run


def test_the_image_pins_every_dependency_the_tests_ran_with() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    pinned = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    for requirement in pyproject["project"]["dependencies"]:
        name = re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is not pinned in constraints.txt"
