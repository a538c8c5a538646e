"""The web console in a real headless Chromium, driven over its DevTools protocol.

The gated crew (partner_outreach, scripted) is started from its form; the live view shows
it waiting; the approvals inbox approves it; the live view shows it complete. The browser
holds the token only as the console's HttpOnly cookie.
"""
from __future__ import annotations

import itertools
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from serve_helpers import Server, start_server
from test_crew_partner_outreach import SCRIPT
from test_report import CHROMIUM, CHROMIUM_FLAGS

websocket = pytest.importorskip("websocket", reason="websocket-client drives Chromium (it comes with crewai)")
pytestmark = [pytest.mark.crew,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")]


class Browser:
    """One Chromium page over the DevTools protocol: navigate, evaluate, wait for a condition."""

    def __init__(self, profile: Path):
        assert CHROMIUM is not None
        self.process = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                         "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "chromium never opened its DevTools port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == number:
                assert "error" not in message, message
                return dict(message["result"])

    def js(self, expression: str) -> Any:
        found = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in found, found["exceptionDetails"]
        return found["result"].get("value")

    def go(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait("document.readyState === 'complete' && location.href !== 'about:blank'")

    def wait(self, expression: str, seconds: float = 90) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                found = self.js(expression)
            except AssertionError:  # the page is between documents
                found = None
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {expression}; page: {self.js('document.body.innerText')[:800]}")

    def close(self) -> None:
        self.socket.close()
        self.process.kill()
        self.process.wait()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    opened = Browser(tmp_path / "chromium-profile")
    yield opened
    opened.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump(SCRIPT), encoding="utf-8")
    started = start_server(tmp_path / "runs", env={"ROLECALL_SCRIPT": str(script), "ROLECALL_SCRIPTED_DELAY": "0.3"})
    yield started
    started.stop()


def test_a_gated_run_started_from_the_form_waits_is_approved_in_the_inbox_and_completes(server, browser):
    browser.go(f"{server.url}/console/login?token={server.token}")
    assert browser.js("location.pathname") == "/console"
    assert browser.js("document.cookie") == ""  # HttpOnly: the page's script cannot read the token
    form = "document.querySelector('form.kickoff[data-crew=partner_outreach]')"
    assert browser.js(f"{form}.querySelector('input[name=count]').value") == "3"  # the default, from crew.yaml
    browser.js(f"{form}.querySelector('input[name=count]').value = '2'")
    browser.js(f"{form}.querySelector('button').click()")

    browser.wait("location.pathname.startsWith('/console/runs/')")
    run_id = browser.js("document.getElementById('run').dataset.run")
    tasks = "[...document.querySelectorAll('li.task')].map(li => li.dataset.task + ':' + li.dataset.status)"
    seen: set[str] = set()
    deadline = time.monotonic() + 90
    while browser.js("document.getElementById('run-status').textContent") != "awaiting_approval":
        seen.update(browser.js(tasks))
        assert time.monotonic() < deadline, "the run never reached its approval gate"
        time.sleep(0.1)
    assert "discovery_task:running" in seen or "qualification_task:running" in seen  # watched as it ran
    assert browser.js(tasks) == ["discovery_task:completed", "qualification_task:completed",
                                 "outreach_task:awaiting_approval"]
    assert not browser.js("document.getElementById('approval').hidden")
    assert int(browser.js("document.getElementById('tokens').textContent")) > 0
    record = server.get(f"/runs/{run_id}").json()
    assert record["run"]["inputs"]["count"] == 2
    assert browser.js("document.getElementById('tokens').textContent") == str(
        sum(c["prompt_tokens"] + c["completion_tokens"] for c in record["model_calls"]))

    browser.go(f"{server.url}/console/approvals")
    gate = f"document.querySelector('section.gate[data-run=\"{run_id}\"]')"
    assert browser.js(f"{gate}.querySelector('pre.content').textContent").startswith(
        "Subject: Crews that search Northwind")
    browser.js(f"{gate}.querySelector('button.approve').click()")
    assert browser.wait(f"{gate}.dataset.decided") == "approved"

    browser.go(f"{server.url}/console/runs/{run_id}")
    browser.wait("document.getElementById('run-status').textContent === 'completed'")
    browser.wait(f"{tasks}.every(t => t.endsWith(':completed'))")
    assert browser.js(tasks) == ["discovery_task:completed", "qualification_task:completed",
                                 "outreach_task:completed"]
    assert browser.js("document.getElementById('approval').hidden")
    assert server.get(f"/runs/{run_id}").json()["run"]["status"] == "completed"

    browser.go(f"{server.url}/console/runs?crew=partner_outreach&status=completed")
    assert browser.js("[...document.querySelectorAll('#runs tr[data-run]')].map(r => r.dataset.run)") == [run_id]
    browser.go(f"{server.url}/console/approvals")
    assert browser.js("document.getElementById('no-approvals') !== null")

    # /docs: every route, each with a form that sends it (the cookie is the token)
    browser.go(f"{server.url}/docs")
    route = "document.querySelector('section.route[data-method=GET][data-path=\"/runs/{run_id}\"]')"
    browser.js(f"{route}.querySelector('.url').value = '/runs/{run_id}'")
    browser.js(f"{route}.querySelector('button.try').click()")
    answer = browser.wait(f"{route}.querySelector('.answer').textContent")
    assert answer.startswith("200 OK") and json.loads(answer.split("\n", 1)[1])["run"]["status"] == "completed"
    kickoff = "document.querySelector('section.route[data-method=POST][data-path=\"/crews/{name}/kickoff\"]')"
    browser.js(f"{kickoff}.querySelector('.url').value = '/crews/partner_outreach/kickoff'")
    browser.js(f"{kickoff}.querySelector('.body').value = '{{\"inputs\": {{\"count\": \"many\"}}}}'")
    browser.js(f"{kickoff}.querySelector('button.try').click()")
    answer = browser.wait(f"{kickoff}.querySelector('.answer').textContent")
    assert answer.startswith("422") and "input 'count' must be a whole number, got 'many'" in answer


def test_a_flow_started_from_its_form_is_decided_in_the_inbox_and_its_page_follows_the_steps(server, browser):
    browser.go(f"{server.url}/console/login?token={server.token}")
    form = "document.querySelector('form.kickoff[data-crew=reviewed_reply]')"
    assert browser.js(f"{form}.querySelector('input[name=customer]').value") == "Dana"  # the state's default
    browser.js(f"{form}.querySelector('button').click()")
    browser.wait("location.pathname.startsWith('/console/runs/')")
    run_id = browser.js("document.getElementById('run').dataset.run")
    browser.wait("document.getElementById('run-status').textContent === 'awaiting_approval'")
    steps = ("[...document.querySelectorAll('li.step')].map(li => li.querySelector('.method').textContent + ':' "
             "+ li.dataset.status + ':' + li.querySelector('.label').textContent)")
    assert browser.js(steps) == ["draft_reply:completed:"]  # its crew is done; the gate is the flow's
    browser.wait("!document.getElementById('approval').hidden")
    child = browser.js("document.querySelector('li.step a.child').textContent")
    assert server.get(f"/runs/{child}").json()["run"]["crew"] == "support_technical"

    browser.go(f"{server.url}/console/approvals")
    gate = f"document.querySelector('section.gate[data-run=\"{run_id}\"]')"
    assert browser.js(f"{gate}.dataset.crew") == "reviewed_reply"
    browser.js(f"{gate}.querySelector('button.approve').click()")
    assert browser.wait(f"{gate}.dataset.decided") == "approved"

    browser.go(f"{server.url}/console/runs/{run_id}")
    browser.wait("document.getElementById('run-status').textContent === 'completed'")
    browser.wait(f"{steps}.length === 2")
    assert browser.js(steps) == ["draft_reply:completed:→ send", "send_reply:completed:"]
    assert browser.js("document.getElementById('output').textContent").startswith("Sent to Dana: ")
    assert int(browser.js("document.getElementById('tokens').textContent")) > 0  # its crew run's, added up

    browser.go(f"{server.url}/console/runs/{child}")  # the crew run names the flow it is a step of
    assert browser.js("document.getElementById('parent').textContent") == run_id
