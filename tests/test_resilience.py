"""Retries, fallbacks and the circuit breaker, against a fake OpenAI server that injects faults."""
from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fake_openai import FakeOpenAI, fake_openai  # noqa: F401 - fake_openai is a fixture
from helpers import REPO
from rolecall.context import RunContext
from rolecall.environment import Environment
from rolecall.errors import ModelUnavailable, RolecallError
from rolecall.llm.factory import LlmPool
from rolecall.llm.profiles import LlmConfig, ProfileSpec
from rolecall.project import Project
from rolecall.settings import Settings
from rolecall.store import RunStore

pytest.importorskip("crewai")
from crewai.llms.base_llm import BaseLLM  # noqa: E402
from crewai.llms.retry import _active_llm_rate_limit_retry  # noqa: E402

from rolecall.llm.breaker import reset_breakers  # noqa: E402
from rolecall.llm.events import EVENT_TYPES, BreakerStateEvent, ModelFallbackEvent, ModelGaveUpEvent, ModelRetryEvent  # noqa: E402
from rolecall.llm.resilience import ResilientLLM  # noqa: E402
from rolecall.llm.retry import Policy, backoff_delay, transient  # noqa: E402

FAST = {"backoff": 0.001, "backoff_max": 0.002}  # real sleeps, but short


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    reset_breakers()  # breakers are process-wide by design; tests must not share them
    yield
    reset_breakers()


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KEY", "sk-fake-0123456789abcdef")


def openai_profile(fake: FakeOpenAI, **settings: Any) -> ProfileSpec:
    settings.setdefault("model", "fake-primary")
    return ProfileSpec(provider="openai_compatible", base_url=fake.base_url, api_key_env="FAKE_KEY", **settings)


def pool(profiles: dict[str, ProfileSpec], root: Path = REPO) -> LlmPool:
    project = Project(root)
    # a pool only builds models; an in-memory store keeps the repository free of run files
    context = RunContext(project, Environment.current(), Settings(project), LlmConfig(profiles=profiles),
                         RunStore(Path(":memory:")))
    return LlmPool(context)


@contextmanager
def resilience_events() -> Iterator[list[Any]]:
    """Every resilience event emitted inside the block, in emission order, once the block ends."""
    from crewai.events import crewai_event_bus
    seen: list[Any] = []
    kinds = EVENT_TYPES

    def keep(source: Any, event: Any) -> None:
        seen.append(event)
    for kind in kinds:
        crewai_event_bus.on(kind)(keep)
    try:
        yield seen
    finally:
        crewai_event_bus.flush()
        for kind in kinds:
            crewai_event_bus.off(kind, keep)
        seen.sort(key=lambda e: e.emission_sequence or 0)  # handlers run on a thread pool


def model_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("model: ")]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- backoff ----------------------------------------------------------------------------------

def test_backoff_doubles_up_to_the_cap_with_full_jitter():
    policy = Policy(retries=8, backoff=0.1, backoff_max=1.0)
    ceilings = [backoff_delay(n, policy, rng=lambda: 1.0) for n in range(1, 7)]
    assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert backoff_delay(3, policy, rng=lambda: 0.0) == 0.0
    draws = random.Random(1)
    for n, ceiling in enumerate(ceilings, start=1):
        delays = [backoff_delay(n, policy, rng=draws.random) for _ in range(400)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # full jitter spreads over the whole range, not a narrow band around the ceiling
        assert min(delays) < 0.1 * ceiling and max(delays) > 0.9 * ceiling
        assert statistics.mean(delays) == pytest.approx(ceiling / 2, rel=0.15)


def test_a_servers_retry_after_wins_but_is_capped():
    policy = Policy(retries=3, backoff=0.1, backoff_max=2.0)
    assert backoff_delay(1, policy, rng=lambda: 1.0, retry_after=1.5) == 1.5
    assert backoff_delay(1, policy, rng=lambda: 1.0, retry_after=60) == 2.0
    with pytest.raises(ValueError):
        backoff_delay(0, policy)


# --- what is retried -----------------------------------------------------------------------------

@pytest.mark.parametrize("fault, kind", [
    ("timeout", "timeout"), ("429", "429"), ("500", "500"), ("503", "503"),
    ("malformed", "malformed response"), ("reset", "connection error"), ("401", None)])
def test_real_sdk_errors_are_classified(fake_openai, fault, kind):
    """The exceptions crewai's OpenAI provider really raises for each fault, not hand-made ones."""
    fake_openai.delay = 0.6
    plain = pool({"p": openai_profile(fake_openai, timeout=0.2, retries=1)}).get("p").links[0].llm
    fake_openai.inject(fault)
    token = _active_llm_rate_limit_retry.set(True)  # crewai's own 429 retry would hide the error
    try:
        with pytest.raises(Exception) as caught:
            plain.call("hello")
    finally:
        _active_llm_rate_limit_retry.reset(token)
    assert transient(caught.value) == kind
    assert fake_openai.chat_requests == 1  # max_retries=0: the SDK did not retry on its own


def test_every_transient_fault_is_retried_once_and_visibly(fake_openai, capsys):
    fake_openai.delay = 0.6
    fake_openai.inject("429", "503", "timeout", "malformed", "reset", "500")
    llm = pool({"flaky": openai_profile(fake_openai, timeout=0.2, retries=6, **FAST)}).get("flaky")
    with resilience_events() as events:
        answer = llm.call([{"role": "user", "content": "Say something"}])
    assert "Final Answer: Fake findings" in answer
    # six faults, six retries, seven requests: no hidden SDK or crewai retries on top of ours
    assert [s.fault for s in fake_openai.log] == ["429", "503", "timeout", "malformed", "reset", "500", None]
    retries = [e for e in events if isinstance(e, ModelRetryEvent)]
    assert [(e.profile, e.attempt, e.retries) for e in retries] == [("flaky", n, 6) for n in range(1, 7)]
    assert [e.error.split(":")[0] for e in retries] == [
        "429", "503", "timeout", "malformed response", "connection error", "500"]
    assert all(0 <= e.delay <= FAST["backoff_max"] for e in retries)
    lines = model_lines(capsys)
    assert len(lines) == 6 and lines[0].startswith("model: flaky 429, retry 1/6 in ")
    # only the request that succeeded counts towards usage
    usage = llm.get_token_usage_summary()
    assert usage.successful_requests == 1 and usage.completion_tokens > 0


def test_crewais_own_rate_limit_retry_does_not_stack_on_ours(fake_openai):
    fake_openai.inject(*["429"] * 10)
    llm = pool({"p": openai_profile(fake_openai, retries=1, **FAST)}).get("p")
    with pytest.raises(ModelUnavailable, match=r"p \(429 after 1 retry\)"):
        llm.call("hello")
    assert fake_openai.chat_requests == 2  # crewai alone would make 3, the SDK 3 more per attempt


def test_401_is_not_retried_and_does_not_fall_back(fake_openai, capsys):
    fake_openai.inject("401")
    llms = pool({"p": openai_profile(fake_openai, retries=3, fallback=["scripted"], **FAST),
                 "scripted": ProfileSpec(provider="scripted")})
    llm = llms.get("p")
    with resilience_events() as events, pytest.raises(Exception) as caught:
        llm.call("hello")
    assert getattr(caught.value, "status_code", None) == 401
    assert fake_openai.chat_requests == 1 and events == [] and model_lines(capsys) == []
    assert llm.links[1].llm.calls == []  # the scripted fallback was never asked


def test_crewais_per_call_stop_words_reach_the_inner_model(fake_openai):
    """crewai scopes an executor's stop words to the LLM object it holds: the wrapper must hand them on."""
    import asyncio

    from crewai.llms.base_llm import call_stop_override
    llm = pool({"p": openai_profile(fake_openai, retries=1)}).get("p")
    with call_stop_override(llm, ["\nFinal Answer:"]):
        assert llm.call("hello") == "Thought: I now know the final answer"
        assert asyncio.run(llm.acall("hello")) == "Thought: I now know the final answer"
    assert llm.call("hello").endswith("(reply 3)")  # outside the scope nothing is cut


# --- fallback ------------------------------------------------------------------------------------

def test_exhausted_retries_fall_back_to_the_next_profile_with_its_own_policy(capsys):
    with FakeOpenAI(faults=["503"] * 3) as primary, FakeOpenAI(faults=["500"]) as backup:
        llms = pool({"primary": openai_profile(primary, retries=2, fallback=["backup"], **FAST),
                     "backup": openai_profile(backup, model="fake-backup", retries=1, **FAST)})
        with resilience_events() as events:
            answer = llms.get("primary").call("hello")
    assert "Final Answer" in answer
    assert (primary.chat_requests, backup.chat_requests) == (3, 2)  # backup retried its own 500 once
    assert [(type(e).__name__, e.profile) for e in events] == [
        ("ModelRetryEvent", "primary"), ("ModelRetryEvent", "primary"),
        ("ModelFallbackEvent", "primary"), ("ModelRetryEvent", "backup")]
    fallback = events[2]
    assert (fallback.to_profile, fallback.error) == ("backup", "503 after 2 retries")
    assert "model: primary failed (503 after 2 retries), falling back to backup" in model_lines(capsys)


def test_when_every_profile_fails_the_error_names_each_one(fake_openai, capsys):
    fake_openai.inject(*["503"] * 5)

    class Broken(BaseLLM):
        def call(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("backup host unreachable")
    primary = pool({"primary": openai_profile(fake_openai, retries=1)}).get("primary").links[0].llm
    llm = ResilientLLM.around("primary", primary, Policy(retries=1, **FAST), [("backup", Broken(model="broken"))])
    with resilience_events() as events, pytest.raises(ModelUnavailable) as caught:
        llm.call("hello")
    assert "primary (503 after 1 retry); backup (connection error)" in str(caught.value)
    gave_up = [e for e in events if isinstance(e, ModelGaveUpEvent)]
    assert [e.tried for e in gave_up] == [["primary", "backup"]]
    assert model_lines(capsys)[-1].startswith("model: giving up, no profile answered: primary (503")


def test_fallback_cycles_and_unknown_fallbacks_are_clear_errors():
    scripted = {"provider": "scripted"}
    with pytest.raises(RolecallError, match=r"fall back in a circle: a -> b -> c -> a"):
        pool({"a": ProfileSpec(**scripted, fallback=["b"]), "b": ProfileSpec(**scripted, fallback=["c"]),
              "c": ProfileSpec(**scripted, fallback=["a"])})
    with pytest.raises(RolecallError, match=r"circle: a -> a"):
        pool({"a": ProfileSpec(**scripted, fallback=["a"])})
    with pytest.raises(RolecallError) as caught:
        pool({"a": ProfileSpec(**scripted, fallback=["scriptd"]), "scripted": ProfileSpec(**scripted)})
    [problem] = caught.value.problems
    assert "fallback 'scriptd' is not a model profile" in problem.message and "scripted" in problem.hint


def test_the_factory_wraps_only_profiles_that_ask_for_resilience(fake_openai):
    llms = pool({"plain": openai_profile(fake_openai, timeout=7.0),
                 "sturdy": openai_profile(fake_openai, timeout=3.0, retries=2, fallback=["scripted"]),
                 "scripted": ProfileSpec(provider="scripted")})
    plain, sturdy = llms.get("plain"), llms.get("sturdy")
    assert not isinstance(plain, ResilientLLM) and (plain.timeout, plain.max_retries) == (7.0, 2)
    assert isinstance(sturdy, ResilientLLM)
    inner = sturdy.links[0].llm
    assert (inner.timeout, inner.max_retries) == (3.0, 0)
    # the fallback is the pool's own object, so the scripted model still learns agent keys
    assert sturdy.links[1].llm is llms.get("scripted") and llms.get("scripted") in llms.all().values()
    assert sturdy.model == "fake-primary" and sturdy.supports_function_calling()


# --- circuit breaker -----------------------------------------------------------------------------

def test_breaker_opens_rejects_half_opens_and_closes(fake_openai, capsys):
    clock, waits = Clock(), []
    fake_openai.inject("503", "503")
    llms = pool({"primary": openai_profile(fake_openai, breaker_threshold=2, breaker_cooldown=30,
                                           fallback=["scripted"]),
                 # the text protocol, so which model is active shows in supports_function_calling
                 "scripted": ProfileSpec(provider="scripted", protocol="text")})
    llm = llms.get("primary").use_timing(clock=clock, sleep=waits.append)
    with resilience_events() as events:
        assert llm.supports_function_calling()  # the OpenAI model is the active one
        llm.call("one")  # 503: first failure, answered by the fallback
        llm.call("two")  # 503: second failure, the breaker opens
        assert fake_openai.chat_requests == 2 and not llm.supports_function_calling()  # scripted is active
        clock.now += 29
        llm.call("three")  # rejected without a request
        assert fake_openai.chat_requests == 2
        clock.now += 1
        answer = llm.call("four")  # cool-down over: one trial call, which succeeds
        assert "Fake findings" in answer and fake_openai.chat_requests == 3
        llm.call("five")
        assert fake_openai.chat_requests == 4 and llm.supports_function_calling()
    assert waits == []  # no retries configured, so nothing waited
    states = [(e.state, e.failures) for e in events if isinstance(e, BreakerStateEvent)]
    assert states == [("open", 2), ("half-open", 2), ("closed", 0)]
    assert [e.error for e in events if isinstance(e, ModelFallbackEvent)] == [
        "503", "503, breaker opened", "breaker open, 1s of cool-down left"]
    lines = model_lines(capsys)
    assert "model: primary breaker open after 2 consecutive failures, no calls for 30s" in lines
    assert "model: primary breaker half-open, sending one trial call" in lines
    assert "model: primary breaker closed, calls flow again" in lines
    assert "model: primary failed (breaker open, 1s of cool-down left), falling back to scripted" in lines


def test_a_failed_trial_call_opens_the_breaker_again(fake_openai):
    clock = Clock()
    fake_openai.inject("500", "500")
    llm = pool({"primary": openai_profile(fake_openai, breaker_threshold=1, breaker_cooldown=10,
                                          fallback=["scripted"]),
                "scripted": ProfileSpec(provider="scripted")}).get("primary").use_timing(clock=clock)
    with resilience_events() as events:
        llm.call("one")
        clock.now += 10
        llm.call("two")  # trial fails: open again for a full cool-down
        clock.now += 9
        llm.call("three")
    assert fake_openai.chat_requests == 2
    assert [e.state for e in events if isinstance(e, BreakerStateEvent)] == ["open", "half-open", "open"]


def test_breaker_state_is_shared_by_every_llm_object_of_a_profile(fake_openai):
    clock = Clock()
    fake_openai.inject("503")
    profiles = {"primary": openai_profile(fake_openai, breaker_threshold=1, breaker_cooldown=60,
                                          fallback=["scripted"]),
                "scripted": ProfileSpec(provider="scripted")}
    first = pool(profiles).get("primary").use_timing(clock=clock)
    second = pool(profiles).get("primary").use_timing(clock=clock)  # another run in the same process
    assert first is not second
    first.call("trip it")
    second.call("must not reach the server")
    assert fake_openai.chat_requests == 1


def test_retries_stop_when_the_breaker_opens(fake_openai):
    fake_openai.inject(*["503"] * 5)
    llm = pool({"primary": openai_profile(fake_openai, retries=4, breaker_threshold=2, fallback=["scripted"],
                                          **FAST),
                "scripted": ProfileSpec(provider="scripted")}).get("primary")
    llm.call("hello")
    assert fake_openai.chat_requests == 2  # two failures opened the breaker; no point sending three more


def test_api_keys_never_reach_the_output(capsys, monkeypatch):
    key = "sk-live-SECRETSECRETSECRET"

    class Leaky(BaseLLM):
        def call(self, *args: Any, **kwargs: Any) -> Any:
            raise TimeoutError(f"timed out; request had Authorization: Bearer {key} and key={self.api_key}")
    llm = ResilientLLM.around("leaky", Leaky(model="leaky", api_key="plainsecret123"), Policy(retries=1, **FAST))
    with resilience_events() as events, pytest.raises(ModelUnavailable) as caught:
        llm.call("hello")
    shown = capsys.readouterr().err + " ".join(str(e.error) for e in events)
    assert events and "timeout" in shown
    assert key not in shown and "plainsecret123" not in shown and "SECRET" not in shown
    assert key not in str(caught.value)


# --- a real crew through 30% injected faults ----------------------------------------------------

RUNS = 8


def test_a_real_crew_completes_every_run_through_30_percent_faults(tmp_path, capsys):
    """research_report on a model whose server fails 30% of requests (seeded): every run completes."""
    from rolecall.api import load_crew, run

    root = tmp_path / "project"
    (root / "config").mkdir(parents=True)
    (root / "crews").symlink_to(REPO / "crews")
    (root / "tools").symlink_to(REPO / "tools")
    project = Project(root, runs=tmp_path / "runs")
    with FakeOpenAI(fault_rate=0.3, seed=17, delay=1.5) as flaky, FakeOpenAI() as steady, \
            resilience_events() as events:
        (root / "config" / "llm.yaml").write_text(
            "profiles:\n"
            f"  flaky: {{provider: openai_compatible, model: fake-primary, base_url: '{flaky.base_url}',\n"
            "          api_key_env: FAKE_KEY, timeout: 1.0, retries: 1, backoff: 0.01, backoff_max: 0.05,\n"
            "          fallback: [steady]}\n"
            f"  steady: {{provider: openai_compatible, model: fake-backup, base_url: '{steady.base_url}',\n"
            "           api_key_env: FAKE_KEY}\n", encoding="utf-8")
        crew = load_crew("research_report", project)
        results = [run(crew, {}, llm="flaky", project=project) for _ in range(RUNS)]

    assert [r.error for r in results if not r.ok] == []
    # the recorder may also list failed attempts; the answers are the calls without an error
    answered = [[c for c in r.model_calls if not getattr(c, "error", None)] for r in results]
    assert all("Fake findings" in r.output for r in results) and all(len(a) == 2 for a in answered)
    calls = [c for a in answered for c in a]
    from_flaky = sum(c.model == "fake-primary" for c in calls)
    from_steady = sum(c.model == "fake-backup" for c in calls)
    retries = [e for e in events if isinstance(e, ModelRetryEvent)]
    fallbacks = [e for e in events if isinstance(e, ModelFallbackEvent)]
    assert not [e for e in events if isinstance(e, ModelGaveUpEvent)]
    # faults really happened, at about the configured rate, and the policy handled every one
    faults = flaky.injected()
    assert 0.15 <= len(faults) / flaky.chat_requests <= 0.45
    assert retries and fallbacks
    # every failed request to the flaky server was followed by exactly one retry or one fallback
    assert flaky.chat_requests == from_flaky + len(retries) + len(fallbacks)
    assert steady.chat_requests == from_steady == len(fallbacks)
    assert {e.task_name for e in retries + fallbacks} <= {"research_task", "reporting_task"}
    assert len(model_lines(capsys)) == len(retries) + len(fallbacks)
