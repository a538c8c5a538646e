"""``report RUN_ID``: the HTML run report, checked as HTML and rendered in headless Chromium."""
from __future__ import annotations

import base64
import hashlib
import html
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from helpers import REPO
from rolecall import RunResult, load_crew, run
from rolecall.cli import main
from rolecall.context import open_store
from rolecall.project import Project
from rolecall.report import write_report
from rolecall.status import ApprovalStatus, GateMode, RunStatus, TaskStatus

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]
AMBIENT = ("ROLECALL_LLM", "ROLECALL_SCRIPT", "ROLECALL_SCRIPTED_DELAY", "ROLECALL_PROJECT", "ROLECALL_RUNS")


@dataclass
class Report:
    run_id: str
    path: Path
    html: str


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project(REPO, runs=tmp_path_factory.mktemp("report") / "runs")


def _run_and_report(project: Project, name: str) -> Report:
    with pytest.MonkeyPatch.context() as patch:
        for variable in AMBIENT:
            patch.delenv(variable, raising=False)
        crew = load_crew(name, project)
        result: RunResult = run(crew, llm="scripted", project=project)
    assert result.ok, result.error
    path = write_report(project, result.run_id, None)
    return Report(result.run_id, path, path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sequential(project: Project) -> Report:
    return _run_and_report(project, "research_report")


@pytest.fixture(scope="module")
def hierarchical(project: Project) -> Report:
    return _run_and_report(project, "research_report_managed")


# --- reading the HTML back ------------------------------------------------------------------------

class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def tags(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def having(html: str, *classes: str) -> list[dict[str, str]]:
    """Attributes of every element carrying all of ``classes``."""
    return [attrs for _, attrs in tags(html) if set(classes) <= set(attrs.get("class", "").split())]


def svg(html: str, svg_id: str) -> str:
    match = re.search(rf'<svg id="{svg_id}".*?</svg>', html, re.S)
    assert match, f"no svg#{svg_id}"
    return match.group(0)


def table_rows(html: str, table_id: str) -> dict[str, dict[str, str]]:
    """{row key: {column: data-value}} of a usage table."""
    match = re.search(rf'<table id="{table_id}".*?</table>', html, re.S)
    assert match, f"no table#{table_id}"
    rows: dict[str, dict[str, str]] = {}
    current = None
    for tag, attrs in tags(match.group(0)):
        if tag == "tr" and "data-key" in attrs:
            current = rows.setdefault(attrs["data-key"], {})
        elif tag == "td" and "data-col" in attrs and current is not None:
            current[attrs["data-col"]] = attrs["data-value"]
    return rows


# --- the graph and the timeline -------------------------------------------------------------------

@pytest.mark.crew
def test_sequential_report_draws_tasks_agents_and_context(sequential, project):
    run = open_store(project).run(sequential.run_id)
    assert sequential.path == Path(run["run_dir"]) / "report.html"
    graph = svg(sequential.html, "crew-graph")
    assert [n["data-key"] for n in having(graph, "node", "task")] == ["research_task", "reporting_task"]
    assert [n["data-key"] for n in having(graph, "node", "agent")] == ["researcher", "reporting_analyst"]
    assert having(graph, "node", "manager") == [] and having(graph, "edge", "delegation") == []
    assert {(e["data-source"], e["data-target"]) for e in having(graph, "edge", "did")} == {
        ("task-research_task", "agent-researcher"), ("task-reporting_task", "agent-reporting_analyst")}
    assert [(e["data-source"], e["data-target"]) for e in having(graph, "edge", "context")] == [
        ("task-research_task", "task-reporting_task")]
    timeline = svg(sequential.html, "timeline")
    assert [lane["data-agent"] for lane in having(timeline, "lane")] == ["researcher", "reporting_analyst"]
    assert [s["data-task"] for s in having(timeline, "span", "task")] == ["research_task", "reporting_task"]
    assert len(having(timeline, "mark", "model")) == 2 and having(timeline, "mark", "tool") == []
    assert ">seconds<" in timeline and len(having(timeline, "tick")) >= 3


@pytest.mark.crew
def test_hierarchical_report_shows_the_manager_and_the_delegations_that_happened(hierarchical, project):
    store = open_store(project)
    graph = svg(hierarchical.html, "crew-graph")
    assert [n["data-key"] for n in having(graph, "node", "agent", "manager")] == ["research_manager"]
    assert len(having(graph, "node", "agent")) == 3 and len(having(graph, "node", "task")) == 2
    delegations = [(d["manager"], d["coworker"]) for d in store.delegations(hierarchical.run_id)]
    assert delegations == [("research_manager", "researcher"), ("research_manager", "reporting_analyst")]
    assert [(e["data-source"], e["data-target"]) for e in having(graph, "edge", "delegation")] == [
        (f"agent-{m}", f"agent-{c}") for m, c in delegations]
    assert re.search(r'class="edge-label"[^>]*>research_task<', graph)
    timeline = svg(hierarchical.html, "timeline")
    assert [lane["data-agent"] for lane in having(timeline, "lane")] == [
        "research_manager", "researcher", "reporting_analyst"]
    assert len(having(timeline, "span", "task")) == 2 and len(having(timeline, "span", "managed")) == 2
    assert len(having(timeline, "mark", "model")) == len(store.model_calls(hierarchical.run_id)) == 6
    assert len(having(timeline, "mark", "tool")) == 2 and len(having(timeline, "mark", "delegation")) == 2
    assert 'id="delegations"' in hierarchical.html and 'id="tool-calls"' in hierarchical.html


# --- tokens, cost, outputs ---------------------------------------------------------------------------

@pytest.mark.crew
@pytest.mark.parametrize("which", ["sequential", "hierarchical"])
def test_token_tables_add_up_to_the_stored_calls(which, request, project):
    report: Report = request.getfixturevalue(which)
    calls = open_store(project).model_calls(report.run_id)

    def sums(rows: list[dict[str, Any]]) -> dict[str, str]:
        prompt, completion = sum(c["prompt_tokens"] for c in rows), sum(c["completion_tokens"] for c in rows)
        return {"calls": str(len(rows)), "prompt": str(prompt), "completion": str(completion),
                "total": str(prompt + completion), "cost": f"{sum(c['cost'] for c in rows):.10g}"}

    for table, column in (("usage-by-agent", "agent"), ("usage-by-task", "task")):
        rows = table_rows(report.html, table)
        assert rows.pop("total") == sums(calls)
        assert rows == {key: sums([c for c in calls if c[column] == key]) for key in {c[column] for c in calls}}
    tokens = sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls)
    assert f'id="total-tokens" data-value="{tokens}"' in report.html


@pytest.mark.crew
def test_header_and_every_task_output(sequential, project):
    store = open_store(project)
    run = store.run(sequential.run_id)
    header = re.search(r'<header id="summary">.*?</header>', sequential.html, re.S).group(0)
    for text in ("research_report", sequential.run_id, "completed", "scripted", "topic", "AI agents", "$0.0000"):
        assert text in header
    assert run["status"] == "completed"
    for task in store.tasks(sequential.run_id):
        assert f'id="output-{task["key"]}"' in sequential.html
        assert html.escape(task["output"]) in sequential.html


@pytest.mark.crew
@pytest.mark.parametrize("which", ["sequential", "hierarchical"])
def test_report_is_self_contained(which, request):
    html = request.getfixturevalue(which).html
    assert "http://" not in html and "https://" not in html and "@import" not in html
    for tag, attrs in tags(html):
        for name in ("src", "href", "xlink:href", "action", "data"):
            assert attrs.get(name, "#").startswith("#"), (tag, attrs)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in policy
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy  # the only script allowed is the report's own


@pytest.mark.crew
def test_cli_report_prints_the_path_it_wrote(sequential, project, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROLECALL_RUNS", str(project.runs_dir))
    out = tmp_path / "mine.html"
    assert main(["report", sequential.run_id[:-2], "--out", str(out)], project_root=REPO) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert 'id="crew-graph"' in out.read_text(encoding="utf-8")


# --- a run the store alone describes: failures, approvals, events, a resume gap, secrets -------------

def _stamp(base: datetime, seconds: float) -> str:
    return (base + timedelta(seconds=seconds)).isoformat()


def test_report_from_the_store_alone_escapes_redacts_and_shows_problems(tmp_path, monkeypatch):
    project = Project(tmp_path / "project", runs=tmp_path / "runs")
    (project.root / "crews").mkdir(parents=True)
    secret = "fake-secret-0123456789abcdef"  # not key-shaped: the store's redactor would catch an sk-... value
    store = open_store(project)  # the secret is not in the environment yet, so the store keeps it
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    run_id = "20260102-030405-gone_crew-beef"
    store.create_run(id=run_id, crew="gone_crew", inputs={"topic": "<b>tides</b>", "key": secret},
                     profile="openai", crew_hash="0" * 16, status=RunStatus.FAILED, started_at=_stamp(t0, 0),
                     finished_at=_stamp(t0, 7300), error="RuntimeError: <boom>",
                     run_dir=str(tmp_path / "runs" / run_id))
    store.save_task(run_id, "plan", position=0, agent="planner", role="Planner <1>", status=TaskStatus.COMPLETED,
                    output='{"steps": ["a", "<b>"]}', structured={"steps": ["a", "<b>"]},
                    started_at=_stamp(t0, 1), finished_at=_stamp(t0, 4))
    store.save_task(run_id, "write", position=1, agent="writer", role="Writer", status=TaskStatus.FAILED,
                    output="<script>alert(1)</script>", error="model gave up",
                    started_at=_stamp(t0, 7200), finished_at=_stamp(t0, 7203))
    calls = [("plan", "planner", 100, 20, 0.002, None, 2), ("plan", "boss", 50, 5, None, None, 3),
             ("write", "writer", 70, 0, 0.0, "rate limited", 7202)]
    for task, agent, prompt, completion, cost, error, at in calls:
        store.add_model_call(run_id, task=task, agent=agent, model="gpt-x", prompt_tokens=prompt,
                             completion_tokens=completion, cost=cost, latency_ms=800, error=error, at=_stamp(t0, at))
    store.add_tool_call(run_id, task="plan", agent="planner", tool="search", arguments='{"q": "x"}',
                        at=_stamp(t0, 2.5), result_chars=None, error="timeout", finished_at=_stamp(t0, 3))
    store.add_delegation(run_id, task="plan", manager="boss", coworker="planner", kind="ask",
                         request="what next?", at=_stamp(t0, 1.5))
    store.request_approval(run_id, "write", GateMode.BEFORE, content="Task: write",
                           status=ApprovalStatus.APPROVED, reason="fine")
    store.add_event(run_id, "model_retry", {"attempt": 1, "delay": 0.5}, _stamp(t0, 7201))
    store.close()
    monkeypatch.setenv("FAKE_API_KEY", secret)

    page = write_report(project, run_id).read_text(encoding="utf-8")

    assert secret not in page and "[redacted:FAKE_API_KEY]" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>tides" not in page and "&lt;b&gt;tides&lt;/b&gt;" in page
    assert "does not validate now" in page  # no crew 'gone_crew': the graph comes from the store
    graph = svg(page, "crew-graph")
    assert [n["data-key"] for n in having(graph, "node", "task")] == ["plan", "write"]
    assert [n["data-key"] for n in having(graph, "node", "manager")] == ["boss"]
    assert [(e["data-source"], e["data-target"]) for e in having(graph, "edge", "delegation")] == [
        ("agent-boss", "agent-planner")]
    timeline = svg(page, "timeline")
    assert [lane["data-agent"] for lane in having(timeline, "lane")] == ["boss", "planner", "writer"]
    assert len(having(timeline, "gap")) == 1  # the two hours waiting for approval are cut out of the axis
    assert [s["data-task"] for s in having(timeline, "span", "managed")] == ["plan"]  # only where boss delegated
    assert len(having(timeline, "mark", "error")) == 2 and len(having(timeline, "mark", "event")) == 1
    agents = table_rows(page, "usage-by-agent")
    assert agents["total"]["cost"] == "" and agents["planner"]["cost"] == "0.002"
    assert re.search(r'data-col="cost" data-value=""[^>]*>\?<', page)
    assert html.escape('"steps": [\n    "a",') in page  # structured output, pretty JSON
    for section in ("errors", "approvals", "model-events", "tool-calls", "delegations"):
        assert f'id="{section}"' in page
    errors = re.search(r'<section id="errors">.*?</section>', page, re.S).group(0)
    for text in ("RuntimeError: &lt;boom&gt;", "model gave up", "rate limited", "timeout"):
        assert text in errors


# --- in a real browser ---------------------------------------------------------------------------------

def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=90, check=True)


def png_facts(file: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values in the decompressed image data.

    A single-colour image, whatever PNG row filter was used, decompresses to a handful of distinct
    bytes (its channel values, zeros and filter types); a rendered page gives a great many.
    """
    data = file.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, width, height, image = 8, 0, 0, b""
    while pos < len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
        elif kind == b"IDAT":
            image += body
        pos += 12 + length
    return width, height, len(set(zlib.decompress(image)))


@pytest.mark.crew
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); "
                                             "the HTML checks above still ran")
def test_report_renders_in_headless_chromium(hierarchical, tmp_path):
    url = hierarchical.path.resolve().as_uri()
    dom = _chromium(tmp_path, "--dump-dom", url).stdout
    # the report's script records what the browser laid out
    sizes = {name: re.search(rf'data-{name}-size="(\d+)x(\d+)"', dom) for name in ("graph", "timeline")}
    for name, match in sizes.items():
        assert match and int(match.group(1)) > 400 and int(match.group(2)) > 100, (name, match)
    assert 'data-graph-nodes="5"' in dom and 'data-timeline-lanes="3"' in dom
    assert 'data-graph-overflow="0"' in dom and 'data-timeline-overflow="0"' in dom
    assert len(having(svg(dom, "crew-graph"), "edge", "delegation")) == 2
    assert len(having(svg(dom, "timeline"), "span", "task")) == 2

    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,2000", url)
    assert shot.exists() and shot.stat().st_size > 20_000
    width, height, distinct = png_facts(shot)
    assert (width, height) == (1400, 2000) and distinct > 50


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_every_drawn_element_lies_inside_its_picture(tmp_path):
    """Agents asking each other (arcs right of their column, with labels) and long labels stay in view."""
    project = Project(tmp_path / "project", runs=tmp_path / "runs")
    (project.root / "crews").mkdir(parents=True)
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    run_id = "20260102-030405-chatty-beef"
    with open_store(project) as store:
        store.create_run(id=run_id, crew="chatty", inputs={}, profile="scripted", crew_hash="0" * 16,
                         status=RunStatus.COMPLETED, started_at=_stamp(t0, 0), finished_at=_stamp(t0, 60),
                         run_dir=str(tmp_path / "runs" / run_id))
        agents = ["planner", "writer", "checker", "editor"]
        for i, agent in enumerate(agents):
            store.save_task(run_id, f"a_rather_long_task_name_{i}", position=i, agent=agent, role=agent.title(),
                            status=TaskStatus.COMPLETED, output="ok", started_at=_stamp(t0, i * 10),
                            finished_at=_stamp(t0, i * 10 + 9))
        for n, (a, b) in enumerate([(a, b) for a in agents for b in agents if a != b] * 2):
            store.add_delegation(run_id, task=f"a_rather_long_task_name_{n % 4}", manager=a, coworker=b,
                                 kind="ask", request="?", at=_stamp(t0, n))
    dom = _chromium(tmp_path, "--dump-dom", write_report(project, run_id).resolve().as_uri()).stdout
    assert 'data-graph-overflow="0"' in dom and 'data-timeline-overflow="0"' in dom
