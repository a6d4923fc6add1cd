"""Scenario files: defaults, examples, and located errors for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigner.errors import CampaignInvalid
from campaigner.simulator import Scenario, load_scenario


def test_default_is_the_sandbox() -> None:
    scenario = Scenario()
    assert (scenario.account.sid, scenario.account.api_key, scenario.account.api_token) == (
        "sandbox",
        "sandbox-key",
        "sandbox-token",
    )
    assert [p.sid for p in scenario.exophones] == ["02241499102", "08047091234", "01139585476"]
    assert scenario.faults == type(scenario.faults)()
    assert scenario.rate_limit.requests == 200
    assert "sandbox-token" not in repr(scenario)


def test_the_sandbox_example_is_the_default(repo: Path) -> None:
    assert load_scenario(repo / "docs/examples/sim-sandbox.yaml") == Scenario()


@pytest.mark.parametrize("name", ["sim-sandbox", "sim-chaos", "sim-outage", "sim-benchmark"])
def test_examples_load(repo: Path, name: str) -> None:
    assert isinstance(load_scenario(repo / f"docs/examples/{name}.yaml"), Scenario)


def test_every_example_is_tested(repo: Path) -> None:
    names = sorted(p.stem for p in (repo / "docs/examples").glob("sim-*.yaml"))
    assert names == ["sim-benchmark", "sim-chaos", "sim-outage", "sim-sandbox"]


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(CampaignInvalid) as caught:
        load_scenario(path)
    return [str(problem).replace(str(path), "s.yaml") for problem in caught.value.problems]


def test_unknown_keys_and_bad_values_are_located(tmp_path: Path) -> None:
    text = (
        "seed: 3\n"
        "faults:\n"
        "  callback_dorp: 0.5\n"
        "  callback_drop: 2\n"
        "numbers:\n"
        "  '+919811111111': {outcome: maybe}\n"
        "timing:\n"
        "  ring: [10, 5]\n"
    )
    assert _problems(tmp_path, text) == [
        "s.yaml:3:3: faults.callback_dorp: unknown key (check the spelling; see docs/simulator.md)",
        "s.yaml:4:18: faults.callback_drop: Input should be less than or equal to 1",
        "s.yaml:6:30: numbers.+919811111111.outcome: Input should be 'completed', 'busy', "
        "'no_answer', 'failed', 'agent_unanswered' or 'agent_hangup'",
        "s.yaml:8:9: timing.ring: Value error, a range is [low, high] with 0 <= low <= high",
    ]


def test_references_must_exist(tmp_path: Path) -> None:
    text = "heartbeat:\n  timeline:\n    - {at: 5, exophone: nope, outgoing: major_outage}\n"
    assert _problems(tmp_path, text) == [
        "s.yaml:1:1: Value error, heartbeat.timeline: unknown exophone 'nope'"
    ]


def test_unquoted_and_invalid_numbers(tmp_path: Path) -> None:
    text = "exophones:\n  - number: 12345\n"
    (problem,) = _problems(tmp_path, text)
    assert problem == "s.yaml:2:13: exophones.0.number: Input should be a valid string"


def test_yaml_syntax_error(tmp_path: Path) -> None:
    assert _problems(tmp_path, "seed: [1\n") == [
        "s.yaml:2:1: expected ',' or ']', but got '<stream end>'"
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CampaignInvalid) as caught:
        load_scenario(tmp_path / "absent.yaml")
    assert str(caught.value).endswith("absent.yaml: cannot read: No such file or directory")
