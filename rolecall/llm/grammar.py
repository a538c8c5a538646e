"""GBNF grammars that only admit a well-formed step of crewai's text protocol.

A small model asked to use tools in free text gets the format wrong (it names
two tools at once, or invents the answer). Constrained to

    Thought: <one line>
    Final Answer: <text>
or
    Thought: <one line>
    Action: <one real tool name>
    Action Input: <JSON object matching that tool's args schema>

it calls tools and delegates reliably. The grammar is built from the tool
objects crewai runs (name + ``args_schema``), never from prompt text; the
``coworker`` argument of the delegation tools is limited to the real roles.

It also keeps the crew's shape (``next_steps``): a manager's first step on a task
is a delegation and it answers only once a coworker's answer came back; an agent
with tools calls one before it answers. Measured on the 0.5B model without these
rules: the managed research report's manager wrote the report itself, and
trip_planner's manager answered the flight task with an invented flight.

Pure Python, no llama.cpp: grammars are plain text that llama.cpp parses.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ..delegation import ASK_TOOL, COWORKER_FIELDS, DELEGATE_TOOL, kind_of, sanitized

# crewai's delegation tools match the coworker by role (case-insensitive); only real roles are admitted

_JSON_PRIMITIVES = r"""
ws ::= [ ]?
string ::= "\"" char* "\""
char ::= [^"\\\x00-\x1f] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])
integer ::= "-"? ("0" | [1-9] [0-9]{0,15})
number ::= integer ("." [0-9]{1,15})? ([eE] [-+]? [0-9]{1,3})?
boolean ::= "true" | "false"
null ::= "null"
value ::= object | array | string | number | boolean | null
object ::= "{" ws ( string ws ":" ws value ( ws "," ws string ws ":" ws value )* )? ws "}"
array ::= "[" ws ( value ( ws "," ws value )* )? ws "]"
"""


@dataclass
class ToolSpec:
    """What the grammar needs to know about one tool."""

    name: str
    schema: dict[str, Any]
    coworkers: list[str] = field(default_factory=list)


def tool_specs(tools: Iterable[Any]) -> list[ToolSpec]:
    """Name, argument schema and (for delegation tools) coworker roles of crewai tool objects."""
    specs = []
    for tool in tools:
        name = str(getattr(tool, "name", "") or "").strip()
        if not name:
            continue
        args = getattr(tool, "args_schema", None)
        schema: dict[str, Any] = {}
        if args is not None and hasattr(args, "model_json_schema"):
            schema = args.model_json_schema()
        elif isinstance(args, dict):
            schema = args
        agents = getattr(tool, "agents", None) or []
        roles = [" ".join(str(getattr(a, "role", "")).split()) for a in agents]
        specs.append(ToolSpec(name, schema, [r for r in roles if r]))
    return specs


def named_coworker(tools: list[ToolSpec], task_text: str) -> list[ToolSpec]:
    """Delegation tools limited to the one coworker the task's text names, when it names exactly one.

    An unbound task that says "Have the Flight Agent find flights" is meant for that coworker;
    the 0.5B manager still picks another one now and then. A task naming none or several
    (a router's rules) leaves the choice to the manager.
    """
    text = " ".join(task_text.split()).lower()
    named = {r for t in tools for r in t.coworkers if re.search(rf"\b{re.escape(r.lower())}\b", text)}
    if len(named) != 1:
        return tools
    return [replace(t, coworkers=sorted(named)) if t.coworkers else t for t in tools]


@dataclass(frozen=True)
class Shape:
    """What the crew expects of the agent making a call."""

    manager: bool = False  # a hierarchical crew's manager: delegates before it answers
    tools_first: bool = True  # an agent with tools of its own calls one before it answers


# crewai's own words (translations/en.json): errors.force_final_answer, sent once max_iter is
# reached, and the summary crewai puts in place of a conversation too long for the context
_FORCED_FINAL = "must give your absolute best final answer"
_SUMMARISED = "structured summary of prior context"
# a step crewai ran: it appends the tool's answer to the model's own step, as the assistant
_RAN = re.compile(r"^Action: *([^\n]+?) *\nAction Input:.*?\nObservation:", re.MULTILINE | re.DOTALL)
_DELEGATION = {sanitized(DELEGATE_TOOL), sanitized(ASK_TOOL)}


def observed_tools(messages: Iterable[dict[str, Any]]) -> set[str]:
    """Sanitised names of the tools whose answer came back in this conversation.

    Text protocol: only the assistant's turns count (the system prompt shows the format with
    an example ``Observation:`` line, and a task's text may quote one). Native calls: crewai's
    ``tool`` messages, one per call that ran.
    """
    seen = set()
    for message in messages:
        if message.get("role") == "tool":
            seen.add(sanitized(str(message.get("name") or "")))
        elif message.get("role") == "assistant" and isinstance(message.get("content"), str):
            seen |= {sanitized(name) for name in _RAN.findall(message["content"])}
    return seen


def last_tool(messages: Iterable[dict[str, Any]]) -> str | None:
    """Sanitised name of the tool the agent's previous step called, if it called one."""
    for message in reversed(list(messages)):
        if message.get("role") == "tool":
            continue
        if message.get("role") != "assistant":
            return None
        calls = message.get("tool_calls") or []
        if calls:
            return sanitized(str((calls[-1].get("function") or {}).get("name") or ""))
        ran = _RAN.findall(str(message.get("content") or ""))
        return sanitized(ran[-1]) if ran else None
    return None


def not_again(tools: list[ToolSpec], messages: list[dict[str, Any]], final: bool) -> list[ToolSpec]:
    """``tools`` without the one the previous step called, unless nothing else would be left.

    Measured on AgentDojo's banking suite: once the 0.5B model may call a tool after a tool's
    answer, it called the same one again (refused as a repeat) until max_iter in 4 of 11 tasks.
    """
    last = last_tool(messages)
    rest = [t for t in tools if sanitized(t.name) != last or t.coworkers]
    return rest if rest or final else tools


_OBSERVED = re.compile(r"\nObservation:[ \t]*(.*)\Z", re.DOTALL)


def coworker_answer(messages: Iterable[dict[str, Any]]) -> str | None:
    """The answer the last delegation brought back, as crewai appended it to the manager's step."""
    for message in reversed(list(messages)):
        content = message.get("content")
        if message.get("role") == "tool":  # native: the delegation's result is the tool message
            answer = str(content or "").strip()
            return answer if sanitized(str(message.get("name") or "")) == sanitized(DELEGATE_TOOL) and answer else None
        if message.get("role") == "assistant" and isinstance(content, str):
            ran = _RAN.findall(content)
            found = _OBSERVED.search(content)
            if ran and sanitized(ran[-1]) == sanitized(DELEGATE_TOOL) and found and found.group(1).strip():
                return found.group(1).strip()
            return None
    return None


def next_steps(tools: list[ToolSpec], messages: list[dict[str, Any]], shape: Shape) -> tuple[list[ToolSpec], bool]:
    """The tools the next step may call, and whether it may be the Final Answer.

    Decided from this call's messages alone, since crewai hands each call the whole
    conversation of the task (one executor per task, so a new task starts clean). Where the
    conversation cannot show the progress any more, nothing is forced: crewai asking for the
    final answer (after max_iter) gets one, and a summarised conversation may do any step,
    so a rule never deadlocks an agent.
    """
    last_user = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
    if _FORCED_FINAL in last_user.lower():
        return [], True
    if any(_SUMMARISED in str(m.get("content") or "") for m in messages):
        return tools, True
    seen = observed_tools(messages)
    if shape.manager:
        # Delegate first, then answer: never Ask. Measured on the 0.5B model: a manager that may
        # ask first gets an answer to a question and writes the task's result itself; one that may
        # ask after its delegation (task_router) asked the same question five times until crewai
        # stopped the run (ToolExecutionFailedError). One delegation per task is the crew's shape.
        delegate = [t for t in tools if sanitized(t.name) == sanitized(DELEGATE_TOOL)]
        if delegate:
            return ([], True) if seen & _DELEGATION else (delegate, False)
    elif shape.tools_first:
        own = [t for t in tools if kind_of(t.name) is None]
        if own and not seen & {sanitized(t.name) for t in own}:
            return own, False
    return tools, True


def react_grammar(tools: list[ToolSpec], thought_chars: int = 200, arg_chars: int = 400,
                  final_schema: dict[str, Any] | None = None, final: bool = True) -> str:
    """A grammar for one ReAct step with these tools, and a Final Answer unless ``final`` is False.

    Tool argument strings are capped at ``arg_chars`` (or the schema's ``maxLength``): a small
    model otherwise keeps writing inside a JSON string until it runs out of tokens.
    ``final_schema`` makes the final answer a JSON document of that schema (structured output).
    """
    if not final and not tools:
        raise ValueError("a step with neither a tool nor a final answer")
    out = _Rules()
    calls = []
    for i, tool in enumerate(tools):
        schema = _restrict_coworker(tool.schema, tool.coworkers)
        args = out.schema(schema, f"tool{i}-args", schema, string_cap=arg_chars)
        # name and input are one alternative, so a tool's input always matches that tool
        calls.append(f'"Action: " {_literal(tool.name)} "\\nAction Input: " {args}')
    steps = list(calls)
    if final:
        final_body = out.schema(final_schema, "final-json", final_schema) if final_schema else "answer"
        steps.insert(0, '"Final Answer: " ' + final_body)
        # the answer runs until the model ends its turn: any text, newlines included
        out.add("answer", r"[^\x00]+")
    out.add("root", '"Thought: " thought "\\n" step')
    out.add("thought", f"[^\\n]{{1,{thought_chars}}}")
    out.add("step", " | ".join(f"( {s} )" for s in steps))
    return out.render()


def native_grammar(tools: list[ToolSpec], arg_chars: int = 400, final_schema: dict[str, Any] | None = None,
                   final: bool = True) -> str:
    """A grammar for one native step: a tool call in the model's own format, or the answer.

    The call is Qwen2.5's ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` with the
    name one of crewai's (sanitised) function names and the arguments that tool's JSON schema,
    optional and nullable arguments optional. An answer is text that does not start with
    ``<`` or ``{``, so it cannot be a malformed call; a structured task's answer is its JSON.
    """
    if not final and not tools:
        raise ValueError("a step with neither a tool nor a final answer")
    out = _Rules()
    steps = []
    for i, tool in enumerate(tools):
        schema = _restrict_coworker(tool.schema, tool.coworkers)
        args = out.schema(schema, f"tool{i}-args", schema, string_cap=arg_chars)
        name = _literal(_json(sanitized(tool.name)))
        steps.append(f'"<tool_call>\\n{{\\"name\\": " {name} ", \\"arguments\\": " {args} "}}\\n</tool_call>"')
    if final:
        steps.append(out.schema(final_schema, "final-json", final_schema) if final_schema else "answer")
        # nor a bare JSON call: after a tool's answer the 0.5B model wrote its next calls as
        # {"name": ...} text in 10 of 11 AgentDojo tasks, which crewai takes as the final answer
        out.add("answer", r"[^<{\x00] [^\x00]*")
    out.add("root", " | ".join(f"( {s} )" for s in steps))
    return out.render()


def json_grammar(schema: dict[str, Any]) -> str:
    """A grammar for one JSON document matching ``schema`` (structured output without tools)."""
    out = _Rules()
    body = out.schema(schema, "doc", schema)
    out.add("root", body)
    return out.render()


def _restrict_coworker(schema: dict[str, Any], coworkers: list[str]) -> dict[str, Any]:
    if not coworkers or not isinstance(schema.get("properties"), dict):
        return schema
    props = dict(schema["properties"])
    for key in COWORKER_FIELDS:
        if key in props:
            props[key] = {**props[key], "enum": list(dict.fromkeys(coworkers))}
            props[key].pop("type", None)
            props[key].pop("anyOf", None)
    return {**schema, "properties": props}


def _literal(text: str) -> str:
    """A GBNF string literal (JSON escaping is a subset GBNF reads the same way)."""
    return json.dumps(text, ensure_ascii=False)


_NAME = re.compile(r"[^a-zA-Z0-9-]+")


class _Rules:
    """Collects named rules; JSON schema nodes become rules (shared primitives come once)."""

    def __init__(self) -> None:
        self.rules: dict[str, str] = {}

    def add(self, name: str, body: str) -> str:
        self.rules[name] = body
        return name

    def render(self) -> str:
        mine = "\n".join(f"{name} ::= {body}" for name, body in self.rules.items())
        return mine + "\n" + _JSON_PRIMITIVES.strip() + "\n"

    def fresh(self, hint: str) -> str:
        base = _NAME.sub("-", hint).strip("-").lower() or "r"
        name, n = base, 1
        while name in self.rules or name in _RESERVED:
            n += 1
            name = f"{base}-{n}"
        self.rules[name] = ""  # reserve
        return name

    def schema(self, node: Any, hint: str, root: dict[str, Any], depth: int = 0, string_cap: int = 0) -> str:
        """A rule expression for ``node``; ``root`` resolves ``$ref``; ``string_cap`` > 0 bounds strings."""
        cap = string_cap
        if not isinstance(node, dict) or depth > 12:
            return "value"
        if "$ref" in node:
            return self.schema(_resolve(root, node["$ref"]), hint, root, depth + 1, cap)
        if "const" in node:
            return _literal(_json(node["const"]))
        if "enum" in node:
            return "( " + " | ".join(_literal(_json(v)) for v in node["enum"]) + " )"
        for key in ("anyOf", "oneOf"):
            if key in node:
                parts = [self.schema(sub, f"{hint}-{i}", root, depth + 1, cap) for i, sub in enumerate(node[key])]
                return "( " + " | ".join(parts) + " )"
        if "allOf" in node and len(node["allOf"]) == 1:
            return self.schema(node["allOf"][0], hint, root, depth + 1, cap)
        kind = node.get("type")
        if isinstance(kind, list):
            return "( " + " | ".join(self.schema({**node, "type": k}, hint, root, depth + 1, cap) for k in kind) + " )"
        if kind == "object" or (kind is None and "properties" in node):
            return self._object(node, hint, root, depth, cap)
        if kind == "array":
            item = self.schema(node.get("items", {}), f"{hint}-item", root, depth + 1, cap)
            name = self.fresh(hint)
            return self.add(name, f'"[" ws ( {item} ( ws "," ws {item} )* )? ws "]"')
        if kind == "string":
            limits = [int(n) for n in (node.get("maxLength"), cap) if n]
            return self._string(min(limits)) if limits else "string"
        return {"integer": "integer", "number": "number", "boolean": "boolean",
                "null": "null"}.get(str(kind), "value")

    def _string(self, limit: int) -> str:
        name = f"jstr{limit}"
        if name not in self.rules:
            self.add(name, f'"\\"" char{{0,{limit}}} "\\""')
        return name

    def _object(self, node: dict[str, Any], hint: str, root: dict[str, Any], depth: int, cap: int = 0) -> str:
        props: dict[str, Any] = node.get("properties") or {}
        if not props:
            # a tool without arguments takes exactly {}: a generic object let the 0.5B model
            # invent an "iban" for get_balance() and write digits until max_tokens
            return '"{" ws "}"' if node.get("type") == "object" and not node.get("additionalProperties") else "object"
        wanted = set(node.get("required") or [])
        member = {k: f"{_literal(_json(k))} ws \":\" ws {self.schema(props[k], f'{hint}-{k}', root, depth + 1, cap)}"
                  for k in props}
        required = [k for k in props if k in wanted]
        optional = [k for k in props if k not in wanted]
        # members keep schema order; optional ones may each be left out
        tail = lambda keys: " ".join(f'( ws "," ws {member[k]} )?' for k in keys)  # noqa: E731
        if required:
            body = ' ws "," ws '.join(member[k] for k in required)
            body += (" " + tail(optional)) if optional else ""
        else:  # all optional: whichever comes first carries no comma
            firsts = [f"{member[k]} {tail(optional[i + 1:])}".strip() for i, k in enumerate(optional)]
            body = "( " + " | ".join(f"( {f} )" for f in firsts) + " )?"
        return self.add(self.fresh(hint), f'"{{" ws {body} ws "}}"')


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_RESERVED = {"ws", "string", "char", "integer", "number", "boolean", "null", "value", "object", "array",
             "root", "thought", "step", "answer"}


def _resolve(root: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node
