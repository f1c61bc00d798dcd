"""Malformed cassettes fail their own case, not the whole ``summarizer check`` run.

Each bad shape is the seed case's own cassette (a hand-written reference, see its "origin")
bent the way a hand edit, a bad merge or a truncated copy bends it, set next to an untouched
copy of the case in one ``check`` run: the good case passes, each bad one is one ERROR line
naming what is wrong, and ``--json`` still lists every case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_check_cli import copy_case, invoke, read_json, write_json

Bend = Callable[[dict[str, Any]], Any]


def _as_list(cassette: dict[str, Any]) -> Any:
    return cassette["interactions"]  # the interactions alone: a JSON list, not a cassette


def _without_response(cassette: dict[str, Any]) -> Any:
    del cassette["interactions"][1]["response"]
    return cassette


def _interactions_as_dict(cassette: dict[str, Any]) -> Any:
    cassette["interactions"] = {i["fingerprint"]: i for i in cassette["interactions"]}
    return cassette


def _response_body_as_string(cassette: dict[str, Any]) -> Any:
    body = cassette["interactions"][0]["response"]["body"]
    cassette["interactions"][0]["response"]["body"] = json.dumps(body)  # double-encoded
    return cassette


def _interaction_as_string(cassette: dict[str, Any]) -> Any:
    cassette["interactions"][0] = "see interactions[1]"
    return cassette


BAD_SHAPES: dict[str, tuple[Bend, str]] = {
    "a-list": (_as_list, "is a list, not a cassette object"),
    "no-response": (_without_response, 'interactions[1] has no "response"'),
    "interactions-dict": (_interactions_as_dict, '"interactions" is an object, not a list'),
    "body-string": (_response_body_as_string, 'interactions[0].response."body" is a string, not an object'),
    "interaction-string": (_interaction_as_string, "interactions[0] is a string, not an object"),
}


def bent_case(tmp_path: Path, name: str, bend: Bend) -> Path:
    case = copy_case(tmp_path, name)
    write_json(case / "cassette.json", bend(read_json(case / "cassette.json")))
    return case


@pytest.fixture
def mixed_cases(tmp_path: Path) -> list[Path]:
    """A good case first, then each bad shape, then another good case (order must not matter)."""
    bad = [bent_case(tmp_path, name, bend) for name, (bend, _) in BAD_SHAPES.items()]
    return [copy_case(tmp_path, "good-first"), *bad, copy_case(tmp_path, "good-last")]


def test_each_malformed_cassette_is_one_error_line_and_check_goes_on(mixed_cases: list[Path]) -> None:
    result = invoke("check", *map(str, mixed_cases))

    assert result.exit_code == 1
    assert "Traceback" not in result.output and "internal error" not in result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line and not line[0].isspace()}
    assert rows["good-first"].split()[1] == "PASS"
    assert rows["good-last"].split()[1] == "PASS"
    for name, (_, problem) in BAD_SHAPES.items():
        assert rows[name].split()[1] == "ERROR", rows[name]
        assert problem in rows[name]
        assert f"{name}/cassette.json" in rows[name]  # which file
    assert result.stdout.splitlines()[-1] == f"2 passed, {len(BAD_SHAPES)} failed"


def test_json_output_still_lists_every_case(mixed_cases: list[Path]) -> None:
    result = invoke("check", "--json", *map(str, mixed_cases))

    assert result.exit_code == 1
    listed = json.loads(result.stdout)
    assert [entry["case"] for entry in listed] == [p.name for p in mixed_cases]
    by_name = {entry["case"]: entry for entry in listed}
    assert by_name["good-first"]["passed"] and by_name["good-last"]["passed"]
    for name, (_, problem) in BAD_SHAPES.items():
        assert by_name[name]["passed"] is False
        assert problem in by_name[name]["error"]


def test_a_recorded_answer_that_fails_validation_says_which_quote_failed(tmp_path: Path) -> None:
    """The cassette's first answer misquotes claim 12 (Yanukovych for the article's Yanukovich);
    without the recorded re-ask, replay must say that, not just "no recording"."""
    case = copy_case(tmp_path, "misquote-without-reask")
    cassette = read_json(case / "cassette.json")
    cassette["interactions"] = cassette["interactions"][:1]
    write_json(case / "cassette.json", cassette)

    result = invoke("check", str(case))

    assert result.exit_code == 1
    [row] = [line for line in result.stdout.splitlines() if line.startswith("misquote-without-reask")]
    assert "ERROR" in row
    assert "fails validation: claim 12 (" in row
    assert (
        "'Mr. Yanukovych fled to escape charges of mass murder in his homeland.' is not in the article" in row
    )
    assert "no re-ask for it" in row
    assert "no recording for request" not in row
