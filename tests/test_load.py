"""YAML loading keeps the line of every key; pydantic errors become located problems."""
from __future__ import annotations

from rolecall.load import load_yaml, parse_model
from rolecall.spec import CrewSpec


def test_every_key_path_has_its_line(tmp_path):
    file = tmp_path / "crew.yaml"
    file.write_text("description: x\ninputs:\n  topic:\n    default: tides\n  year:\n    type: integer\n")
    problems: list = []
    doc = load_yaml(file, problems)
    assert problems == []
    assert doc.line(("inputs", "year", "type")) == 6
    assert doc.line(("inputs", "topic", "default")) == 4
    assert doc.line(("inputs", "nope", "deeper")) == 2  # nearest known ancestor
    assert doc.data["inputs"]["year"] == {"type": "integer"}


def test_scalars_are_typed_like_safe_load(tmp_path):
    file = tmp_path / "a.yaml"
    file.write_text("a: 1\nb: true\nc: 2.5\nd: null\ne: '1'\n")
    doc = load_yaml(file, [])
    assert doc.data == {"a": 1, "b": True, "c": 2.5, "d": None, "e": "1"}


def test_an_empty_file_is_an_empty_mapping(tmp_path):
    file = tmp_path / "a.yaml"
    file.write_text("# nothing yet\n")
    assert load_yaml(file, []).data == {}


def test_nested_unknown_keys_get_did_you_mean_from_the_nested_model(tmp_path):
    file = tmp_path / "crew.yaml"
    file.write_text("tasks:\n  t:\n    output_shema: X\nmanager:\n  agnet: lead\n")
    problems: list = []
    assert parse_model(load_yaml(file, problems), (), CrewSpec, problems) is None
    assert sorted(p.render(tmp_path) for p in problems) == [
        "crew.yaml:3: tasks.t.output_shema: unknown key 'output_shema' (did you mean 'output_schema'?)",
        "crew.yaml:5: manager.agnet: unknown key 'agnet' (did you mean 'agent'?)",
    ]
