"""Rubric checks: one call to a judge model, which answers ``{"pass": bool, "reason": str}``.

The judge is any model profile (``judge: openai``, ``local``, ``scripted``), built through the
same factory a run uses, so keys, fallbacks and prices work the same. The scripted model
answers a judge's prompt deterministically (``scripted_verdict``) or replays the ``judge:``
list of a case's script, so tests can judge without a real model.

Nothing at this module's top level imports crewai (the scripted model imports it).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from .environment import Environment
    from .project import Project

PROMPT_START = "You judge the output of an AI crew against a rubric."
_SYSTEM = (f"{PROMPT_START} Read the rubric and the output, decide whether the output meets the rubric, "
           'and answer with one JSON object and nothing else: {"pass": true or false, "reason": "one or two '
           'sentences on why"}.')
_RUBRIC = re.compile(r"^Rubric:\s*(.*?)\n\nOutput:\n", re.S | re.M)
_OUTPUT = re.compile(r"\n\nOutput:\n(.*)\Z", re.S)
_QUOTED = re.compile(r"\"([^\"]{2,})\"|“([^”]{2,})”")  # double quotes only: an apostrophe is no quote
_JSON = re.compile(r"\{.*\}", re.S)


class VerdictModel(BaseModel):
    """What the judge must answer; local models are held to this schema by their grammar."""

    model_config = ConfigDict(populate_by_name=True)
    passed: bool = Field(alias="pass")
    reason: str


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str
    profile: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0


def messages(rubric: str, output: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": _SYSTEM},
            {"role": "user", "content": f"Rubric: {rubric.strip()}\n\nOutput:\n{output}"}]


def is_judge_request(conversation: list[dict[str, Any]]) -> bool:
    return bool(conversation) and str(conversation[0].get("content") or "").startswith(PROMPT_START)


def parse_verdict(answer: Any) -> tuple[bool, str]:
    """The judge's answer as (passed, reason); an answer that is not the JSON asked for fails, saying so."""
    if isinstance(answer, BaseModel):
        answer = answer.model_dump_json(by_alias=True)
    text = str(answer or "")
    found = _JSON.search(text)
    try:
        verdict = VerdictModel.model_validate_json(found.group(0) if found else text)
    except ValueError:
        return False, f"the judge did not answer the JSON verdict asked for: {text[:200]!r}"
    return verdict.passed, verdict.reason.strip() or "(the judge gave no reason)"


def scripted_verdict(conversation: list[dict[str, Any]]) -> str:
    """The scripted judge's own answer: every phrase the rubric puts in double quotes must be in the
    output (case aside).

    A rubric quoting nothing passes any output that is not empty. Deterministic and honest
    about what it looked at, so a test can see both a pass and a fail.
    """
    prompt = str(conversation[-1].get("content") or "")
    rubric, output = _RUBRIC.search(prompt), _OUTPUT.search(prompt)
    phrases = [a or b for a, b in _QUOTED.findall(rubric.group(1) if rubric else "")]
    output_text = output.group(1) if output else ""
    if not phrases:
        passed = bool(output_text.strip())
        reason = "scripted judge: the rubric quotes no phrase; the output is " + ("not empty" if passed else "empty")
    else:
        missing = [p for p in phrases if p.lower() not in output_text.lower()]
        passed = not missing
        reason = (f"scripted judge: the output has every quoted phrase ({', '.join(map(repr, phrases))})" if passed
                  else f"scripted judge: the output lacks {', '.join(map(repr, missing))}")
    return json.dumps({"pass": passed, "reason": reason})


class Judge:
    """The judge models of one eval case, built on first use through the run's model factory.

    One object per case, so a scripted judge takes its ``judge:`` replies in order; each
    verdict keeps the tokens and cost of its own call. A judge that cannot be reached (no
    key, no model file) raises ``ModelUnavailable``.
    """

    def __init__(self, project: Project, env: Environment | None = None):
        self.project, self.env = project, env
        self._context: Any = None
        self._pool: Any = None

    def verdict(self, profile: str, rubric: str, output: str) -> Verdict:
        """Ask ``profile`` once whether ``output`` meets ``rubric``."""
        pool = self._models()
        llm = pool.get(profile)
        before = _usage(pool)
        answer = llm.call(messages(rubric, output), response_model=VerdictModel)
        passed, reason = parse_verdict(answer)
        after = _usage(pool)
        cost = None if after[2] is None or before[2] is None else after[2] - before[2]
        return Verdict(passed, reason, profile, after[0] - before[0], after[1] - before[1], cost)

    def close(self) -> None:
        if self._context is not None:
            self._context.store.close()

    def _models(self) -> Any:
        if self._pool is None:
            from .context import RunContext
            from .llm.factory import LlmPool
            self._context = RunContext.open(self.project, self.env)
            self._pool = LlmPool(self._context)
        return self._pool


def _usage(pool: Any) -> tuple[int, int, float | None]:
    """Tokens and cost so far of every model the pool built (a wrapper's inner models count, not it)."""
    prompt = completion = 0
    cost: float | None = 0.0
    for llm in pool.all().values():
        if hasattr(llm, "links"):  # a resilience wrapper: its links hold the counts
            continue
        used = llm.get_token_usage_summary()
        prompt, completion = prompt + used.prompt_tokens, completion + used.completion_tokens
        price = pool.cost(llm.model, used.prompt_tokens, used.completion_tokens)
        cost = None if price is None or cost is None else cost + price
    return prompt, completion, cost
