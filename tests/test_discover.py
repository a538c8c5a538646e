"""Crews are found in crews/ and in installed distributions (entry-point group rolecall.crews)."""
from __future__ import annotations

import sys

from helpers import write_files
from rolecall import load_crew
from rolecall.discover import discover

CREW = {
    "__init__.py": "",
    "config/agents.yaml": "a: {role: A, goal: G, backstory: B}\n",
    "config/tasks.yaml": "t: {description: D, expected_output: E, agent: a}\n",
    "crew.yaml": "description: shipped as a pip package\n",
}


def test_a_crew_shipped_as_a_distribution_is_discovered(tmp_project, tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_files(site / "acme_crews" / "support", CREW)
    write_files(site, {
        "acme_crews/__init__.py": "",
        "acme_crews-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: acme-crews\nVersion: 1.0\n",
        "acme_crews-1.0.dist-info/entry_points.txt": "[rolecall.crews]\nacme_support = acme_crews.support\n",
    })
    monkeypatch.syspath_prepend(str(site))
    crews, problems = discover(tmp_project)
    assert problems == []
    ref = crews["acme_support"]
    assert ref.origin == "distribution acme-crews" and ref.path == site / "acme_crews" / "support"
    crew = load_crew("acme_support", tmp_project)
    assert crew.spec.description == "shipped as a pip package"
    sys.modules.pop("acme_crews", None)


def test_a_broken_entry_point_is_reported_not_raised(tmp_project, tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_files(site, {
        "broken-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n",
        "broken-1.0.dist-info/entry_points.txt": "[rolecall.crews]\nghost = no_such_package\n",
    })
    monkeypatch.syspath_prepend(str(site))
    crews, problems = discover(tmp_project)
    assert "ghost" not in crews
    assert ["does not name an importable package" in p.message for p in problems] == [True]


def test_a_local_crew_hides_a_distribution_crew_of_the_same_name(tmp_project, tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_files(site / "acme2" / "dup", CREW)
    write_files(site, {"acme2/__init__.py": "",
                       "acme2-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: acme2\nVersion: 1.0\n",
                       "acme2-1.0.dist-info/entry_points.txt": "[rolecall.crews]\ndup = acme2.dup\n"})
    write_files(tmp_project.crews_dir / "dup", CREW)
    monkeypatch.syspath_prepend(str(site))
    crews, problems = discover(tmp_project)
    assert crews["dup"].origin == "crews/"
    assert problems[0].severity == "warning" and "hidden by crews/dup" in problems[0].message
    sys.modules.pop("acme2", None)
