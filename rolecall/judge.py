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


def judge(project: Project, profile: str, rubric: str, output: str, env: Environment | None = None) -> Verdict:
    """Ask ``profile`` once whether ``output`` meets ``rubric``; its tokens and cost are kept.

    A judge that cannot be reached (no key, no model file) raises ``ModelUnavailable``.
    """
    from .context import RunContext
    from .llm.factory import LlmPool
    context = RunContext.open(project, env)
    try:
        pool = LlmPool(context)  # a fresh pool: its token counts are this call's alone
        llm = pool.get(profile)
        answer = llm.call(messages(rubric, output), response_model=VerdictModel)
        passed, reason = parse_verdict(answer)
        prompt, completion, cost = _usage(pool)
    finally:
        context.store.close()
    return Verdict(passed, reason, profile, prompt, completion, cost)


def _usage(pool: Any) -> tuple[int, int, float | None]:
    """Tokens and cost of every model the pool built (a wrapper's inner models count once, inside)."""
    prompt = completion = 0
    cost: float | None = 0.0
    for llm in pool.all().values():
        if hasattr(llm, "links"):  # a resilience wrapper: its links hold the counts
            continue
        used = llm.get_token_usage_summary()
        if not used.prompt_tokens and not used.completion_tokens:
            continue
        prompt, completion = prompt + used.prompt_tokens, completion + used.completion_tokens
        price = pool.cost(llm.model, used.prompt_tokens, used.completion_tokens)
        cost = None if price is None or cost is None else cost + price
    return prompt, completion, cost
