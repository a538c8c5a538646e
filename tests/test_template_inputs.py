"""Placeholders, literal braces, and typed inputs."""
from __future__ import annotations

import pytest

from rolecall.inputs import bind, coerce, parse_pairs
from rolecall.spec import InputSpec
from rolecall.template import fill, placeholders


def test_placeholders_and_literal_braces():
    names, bad = placeholders('Plan {city} for {days} days, as {{"city": "..."}}')
    assert names == ["city", "days"] and bad == []
    assert fill('Plan {city}: {{"city": "{city}"}}', {"city": "Lyon"}) == 'Plan Lyon: {"city": "Lyon"}'


@pytest.mark.parametrize("text", ['{"a": 1}', "{ spaced }", "{1abc}", "close }"])
def test_a_brace_that_is_not_a_placeholder_is_reported(text):
    names, bad = placeholders(text)
    assert bad and names == []


@pytest.mark.parametrize("kind,raw,value", [
    ("integer", "4", 4), ("number", "2.5", 2.5), ("boolean", "yes", True), ("boolean", "false", False),
    ("string", "many words", "many words"), ("integer", 7, 7), ("boolean", True, True)])
def test_inputs_are_coerced_to_their_declared_type(kind, raw, value):
    assert coerce("x", raw, InputSpec(type=kind)) == (value, None)


@pytest.mark.parametrize("kind,raw,message", [
    ("integer", "many", "input 'guests' must be a whole number, got 'many'"),
    ("number", "lots", "input 'guests' must be a number, got 'lots'"),
    ("boolean", "maybe", "input 'guests' must be true or false, got 'maybe'")])
def test_a_value_of_the_wrong_type_is_an_error(kind, raw, message):
    assert coerce("guests", raw, InputSpec(type=kind)) == (None, message)


def test_resolve_uses_defaults_and_reports_missing_and_unknown_inputs():
    declared = {"topic": InputSpec(description="What to research"), "year": InputSpec(type="integer", default=2026)}
    values, problems = bind(declared, {"topik": "x"})
    assert values == {"year": 2026}
    assert [(p.message, p.hint) for p in problems] == [
        ("unknown input 'topik'", "did you mean 'topic'?"),
        ("missing required input 'topic' (What to research)", "pass --input topic=..."),
    ]
    values, problems = bind(declared, {"topic": "tides", "year": "1999"})
    assert (values, problems) == ({"topic": "tides", "year": 1999}, [])


def test_parse_pairs_keeps_equals_signs_in_values():
    assert parse_pairs(["q=a=b", "topic=solar storage"]) == ({"q": "a=b", "topic": "solar storage"}, [])
    _, problems = parse_pairs(["novalue"])
    assert "not of the form name=value" in problems[0].message
