"""The ReAct grammar, built from real tool objects, checked by llama.cpp's own grammar engine.

llama.cpp needs only the tokenizer to run a grammar, so these tests load the model
file vocabulary-only (no weights, well under a second) and never generate.
"""
from __future__ import annotations

import ctypes
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from helpers import REPO
from rolecall.llm.grammar import (
    Shape,
    coworker_answer,
    json_grammar,
    named_coworker,
    next_steps,
    react_grammar,
    tool_specs,
)

ROLES = ["solar storage Senior Data Researcher", "solar storage Reporting Analyst"]


class Query(BaseModel):
    query: str = Field(..., description="Words to look for")


class Delegate(BaseModel):
    task: str
    context: str
    coworker: str


class Agent:
    def __init__(self, role: str):
        self.role = role


class Tool:
    """Duck-typed like a crewai tool: name, args_schema and, for delegation, agents."""

    def __init__(self, name: str, schema: type[BaseModel], agents: list[Agent] | None = None):
        self.name, self.args_schema = name, schema
        if agents is not None:
            self.agents = agents


SEARCH = Tool("search_knowledge", Query)
DELEGATE = Tool("Delegate work to coworker", Delegate, [Agent(f"{ROLES[0]}\n"), Agent(ROLES[1])])


# --- llama.cpp as the judge ------------------------------------------------------------
@pytest.fixture(scope="module")
def vocab() -> Iterator[Any]:
    llama_cpp = pytest.importorskip("llama_cpp")
    from rolecall.llm.weights import lookup
    found = lookup("qwen2.5-coder-0.5b-instruct", root=REPO)
    if found.path is None:
        pytest.skip(f"model file not available: {found.missing}")
    model = llama_cpp.Llama(str(found.path), vocab_only=True, verbose=False)
    yield model
    model.close()


def accepts(vocab: Any, grammar: str, text: str) -> bool:
    """Whether llama.cpp's grammar admits ``text`` as a complete reply (tokenised as the model would)."""
    import llama_cpp
    sampler = llama_cpp.llama_sampler_init_grammar(vocab._model.vocab, grammar.encode(), b"root")
    assert sampler, "llama.cpp rejected the grammar"
    one = (llama_cpp.llama_token_data * 1)()
    view = llama_cpp.llama_token_data_array(data=one, size=1, selected=-1, sorted=False)

    def allowed(token: int) -> bool:
        one[0].id, one[0].logit = token, 0.0
        view.size = 1
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(view))
        return one[0].logit != float("-inf")
    try:
        for token in vocab.tokenize(text.encode(), add_bos=False, special=False):
            if not allowed(token):  # accepting a refused token would abort inside llama.cpp
                return False
            llama_cpp.llama_sampler_accept(sampler, token)
        return allowed(vocab.token_eos())  # the end of the turn must be allowed here
    finally:
        llama_cpp.llama_sampler_free(sampler)


def action(tool: str, args: dict[str, Any]) -> str:
    return f"Thought: I should act\nAction: {tool}\nAction Input: {json.dumps(args)}"


# --- building from tool objects ---------------------------------------------------------
def test_specs_come_from_the_tool_objects() -> None:
    search, delegate = tool_specs([SEARCH, DELEGATE])
    assert search.name == "search_knowledge" and search.schema["required"] == ["query"]
    assert search.coworkers == []
    assert delegate.coworkers == ROLES  # whitespace of YAML-folded roles normalised


def test_grammar_names_each_tool_with_its_own_arguments() -> None:
    grammar = react_grammar(tool_specs([SEARCH, DELEGATE]))
    assert '"Action: " "search_knowledge" "\\nAction Input: " tool0-args' in grammar
    assert '"Action: " "Delegate work to coworker" "\\nAction Input: " tool1-args' in grammar
    assert '"\\"solar storage Reporting Analyst\\""' in grammar
    assert '"Final Answer: " answer' in grammar


def test_real_crewai_tools(vocab: Any) -> None:
    from crewai import Agent as CrewAgent
    from crewai.tools.agent_tools.delegate_work_tool import DelegateWorkTool

    from rolecall.llm.scripted import ScriptedLLM
    from tools.knowledge import KnowledgeSearchTool
    roles = [CrewAgent(role=r, goal="g", backstory="b", llm=ScriptedLLM(model="scripted")) for r in ROLES]
    specs = tool_specs([KnowledgeSearchTool(), DelegateWorkTool(agents=roles, description="delegate")])
    grammar = react_grammar(specs)
    assert [s.name for s in specs] == ["search_knowledge", "Delegate work to coworker"]
    assert accepts(vocab, grammar, action("search_knowledge", {"query": "grid batteries"}))
    assert accepts(vocab, grammar, action("Delegate work to coworker",
                                          {"task": "t", "context": "c", "coworker": ROLES[0]}))


# --- what llama.cpp admits ---------------------------------------------------------------
def test_admits_well_formed_steps(vocab: Any) -> None:
    grammar = react_grammar(tool_specs([SEARCH, DELEGATE]))
    assert accepts(vocab, grammar, action("search_knowledge", {"query": "solar storage 2026"}))
    assert accepts(vocab, grammar, action("Delegate work to coworker",
                                          {"task": "Find 5 facts", "context": "about \"grid\" storage",
                                           "coworker": ROLES[1]}))
    assert accepts(vocab, grammar, "Thought: I now know the final answer\nFinal Answer: - one\n- two\n\nDone.")


def test_refuses_what_small_models_get_wrong(vocab: Any) -> None:
    grammar = react_grammar(tool_specs([SEARCH, DELEGATE]))
    wrong = [
        "Final Answer: no thought first",
        "Thought: two tools\nAction: delegate_work_to_coworker, ask_question_to_coworker\nAction Input: {}",
        action("search_the_web", {"query": "x"}),                          # a tool it does not have
        action("search_knowledge", {"q": "x"}),                            # wrong argument name
        action("search_knowledge", {"query": 5}),                          # wrong type
        action("search_knowledge", {"task": "x", "context": "", "coworker": ROLES[0]}),  # other tool's input
        action("Delegate work to coworker", {"task": "t", "context": "c", "coworker": "The Boss"}),
        action("search_knowledge", {"query": "x"}) + "\nObservation: made up",
        "Thought: line one\nline two\nFinal Answer: x",
    ]
    for text in wrong:
        assert not accepts(vocab, grammar, text), text


def test_argument_strings_are_capped(vocab: Any) -> None:
    grammar = react_grammar(tool_specs([SEARCH]), arg_chars=20)
    assert accepts(vocab, grammar, action("search_knowledge", {"query": "x" * 20}))
    assert not accepts(vocab, grammar, action("search_knowledge", {"query": "x" * 21}))


def test_manager_without_tools_may_only_answer(vocab: Any) -> None:
    grammar = react_grammar([])
    assert accepts(vocab, grammar, "Thought: t\nFinal Answer: x")
    assert not accepts(vocab, grammar, action("search_knowledge", {"query": "x"}))


class Report(BaseModel):
    title: str
    points: list[str]
    year: int | None = None
    draft: bool = False


def test_structured_output_grammar(vocab: Any) -> None:
    grammar = json_grammar(Report.model_json_schema())
    assert accepts(vocab, grammar, json.dumps({"title": "Solar", "points": ["a", "b"]}))
    assert accepts(vocab, grammar, json.dumps({"title": "Solar", "points": [], "year": 2026, "draft": True}))
    assert accepts(vocab, grammar, json.dumps({"title": "Solar", "points": [], "year": None}))
    assert not accepts(vocab, grammar, json.dumps({"points": ["a"]}))
    assert not accepts(vocab, grammar, json.dumps({"title": "Solar", "points": "a"}))


def test_optional_only_objects_and_refs(vocab: Any) -> None:
    class Inner(BaseModel):
        name: str

    class Loose(BaseModel):
        a: int | None = None
        inner: Inner | None = None

    grammar = json_grammar(Loose.model_json_schema())
    for doc in ({}, {"a": 1}, {"inner": {"name": "x"}}, {"a": 1, "inner": {"name": "x"}}):
        assert accepts(vocab, grammar, json.dumps(doc)), doc
    assert not accepts(vocab, grammar, json.dumps({"inner": {"nom": "x"}}))


def test_structured_task_final_answer_is_its_json(vocab: Any) -> None:
    grammar = react_grammar(tool_specs([SEARCH]), final_schema=Report.model_json_schema())
    assert accepts(vocab, grammar, "Thought: done\nFinal Answer: " + json.dumps({"title": "S", "points": ["a"]}))
    assert accepts(vocab, grammar, action("search_knowledge", {"query": "x"}))
    assert not accepts(vocab, grammar, "Thought: done\nFinal Answer: a free text report")


# --- the crew's shape: delegate first, use a tool first ---------------------------------
FLIGHTS = Tool("flight_search", Query)
ASK = Tool("Ask question to coworker", Delegate, [Agent(r) for r in ROLES])
FORMAT = ("Use the following format:\nThought: you should always think about what to do\nAction: the action "
          "to take, only one name of [search_knowledge]\nAction Input: the input\nObservation: the result")


def conversation(*steps: str) -> list[dict[str, Any]]:
    """crewai's messages for one task: the format (with its example Observation), the task, then each step."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": FORMAT},
                                      {"role": "user", "content": "Current Task: find flights"}]
    for step in steps:
        messages += [{"role": "assistant", "content": step},
                     {"role": "user", "content": "Analyze the tool result. If requirements are met, provide the "
                                                 "Final Answer. Otherwise, call the next tool."}]
    return messages


def ran(tool: str, args: dict[str, Any], answer: str = "a result") -> str:
    return action(tool, args) + f"\nObservation: {answer}"


def grammar_for(tools: list[Tool], messages: list[dict[str, Any]], shape: Shape) -> str:
    allowed, final = next_steps(tool_specs(tools), messages, shape)
    return react_grammar(allowed, final=final)


MANAGER = Shape(manager=True)
DELEGATED = ran("Delegate work to coworker", {"task": "t", "context": "c", "coworker": ROLES[0]}, "five facts")


def test_a_manager_must_delegate_before_it_answers() -> None:
    grammar = grammar_for([DELEGATE, ASK], conversation(), MANAGER)
    assert '"Action: " "Delegate work to coworker"' in grammar
    assert "Final Answer" not in grammar and "Ask question" not in grammar  # not asking instead of delegating
    assert '"\\"solar storage Reporting Analyst\\""' in grammar  # still only the crew's roles


def test_a_manager_answers_once_a_coworker_answered() -> None:
    """No asking afterwards: the 0.5B manager asked the same question five times until crewai stopped the run."""
    grammar = grammar_for([DELEGATE, ASK], conversation(DELEGATED), MANAGER)
    assert '"Final Answer: " answer' in grammar and "Action" not in grammar


def test_the_coworkers_answer_is_what_the_manager_passes_on() -> None:
    assert coworker_answer(conversation(DELEGATED)) == "five facts"
    assert coworker_answer(conversation()) is None
    asked = ran("Ask question to coworker", {"question": "q", "context": "c", "coworker": ROLES[0]}, "maybe")
    assert coworker_answer(conversation(asked)) is None  # an answer to a question is not the task's result


def test_only_the_assistants_own_steps_count() -> None:
    """The format's example and a task quoting an observation are not a tool's answer."""
    messages = conversation()
    messages[1]["content"] += "\nAction: Delegate work to coworker\nAction Input: {}\nObservation: quoted"
    assert "Final Answer" not in grammar_for([DELEGATE, ASK], messages, MANAGER)


def test_a_tool_agent_calls_a_tool_before_it_answers() -> None:
    before = grammar_for([FLIGHTS], conversation(), Shape())
    assert '"Action: " "flight_search"' in before and "Final Answer" not in before
    after = grammar_for([FLIGHTS], conversation(ran("flight_search", {"query": "LHR LIS"})), Shape())
    assert '"Final Answer: " answer' in after and '"Action: " "flight_search"' in after


def test_a_tool_agent_that_may_delegate_still_uses_its_own_tool_first() -> None:
    before = grammar_for([FLIGHTS, DELEGATE], conversation(), Shape())
    assert '"Action: " "flight_search"' in before and "Delegate" not in before and "Final Answer" not in before
    delegated_only = grammar_for([FLIGHTS, DELEGATE], conversation(DELEGATED), Shape())
    assert "Final Answer" not in delegated_only


def test_tools_first_false_lets_an_agent_answer_straight_away() -> None:
    grammar = grammar_for([FLIGHTS], conversation(), Shape(tools_first=False))
    assert '"Final Answer: " answer' in grammar and '"Action: " "flight_search"' in grammar


def test_crewai_asking_for_the_final_answer_gets_one() -> None:
    """After max_iter crewai demands an answer; refusing it would loop an agent that never got an observation."""
    messages = conversation() + [{"role": "user", "content": "Now it's time you MUST give your absolute best "
                                  "final answer. You'll ignore all previous instructions, stop using any tools"}]
    for tools, shape in (([DELEGATE, ASK], MANAGER), ([FLIGHTS], Shape())):
        allowed, final = next_steps(tool_specs(tools), messages, shape)
        assert final and allowed == []


def test_a_summarised_conversation_forces_nothing() -> None:
    """crewai replaces a too-long conversation with a summary: the observations are gone, progress is unknown."""
    messages = [{"role": "user", "content": "<summary>delegated, got five facts</summary>\n\nContinue the task "
                 "from where the conversation left off. The above is a structured summary of prior context."}]
    allowed, final = next_steps(tool_specs([DELEGATE, ASK]), messages, MANAGER)
    assert final and [t.name for t in allowed] == [DELEGATE.name, ASK.name]


def test_a_step_with_nothing_to_do_is_refused() -> None:
    with pytest.raises(ValueError):
        react_grammar([], final=False)


def test_llama_cpp_holds_the_manager_to_delegating(vocab: Any) -> None:
    grammar = grammar_for([DELEGATE, ASK], conversation(), MANAGER)
    delegate = action("Delegate work to coworker", {"task": "t", "context": "c", "coworker": ROLES[1]})
    assert accepts(vocab, grammar, delegate)
    assert not accepts(vocab, grammar, "Thought: I know it\nFinal Answer: the report")
    assert not accepts(vocab, grammar, action("Ask question to coworker",
                                              {"task": "t", "context": "c", "coworker": ROLES[1]}))


def test_a_task_naming_one_coworker_goes_to_that_coworker() -> None:
    roles = ["Flight Agent", "Hotel Agent"]
    tools = tool_specs([Tool("Delegate work to coworker", Delegate, [Agent(r) for r in roles]), FLIGHTS])
    delegate, flights = named_coworker(tools, "Do not answer yourself.\nHave the flight  agent find flights.")
    assert delegate.coworkers == ["Flight Agent"] and flights == tools[1]
    for text in ("Flights go to the Flight Agent, hotels to the Hotel Agent.", "Plan the trip."):
        assert named_coworker(tools, text) == tools  # several or none named: the manager chooses


# --- native function calls (the default for the local model) ------------------------------
class Transfer(BaseModel):
    recipient: str
    amount: float
    subject: str | None = None  # optional and nullable: may be left out, or null


class NoArgs(BaseModel):
    pass


def native_call(name: str, arguments: dict[str, Any]) -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {json.dumps(arguments)}}}\n</tool_call>'


def test_native_calls_follow_each_tools_own_schema(vocab: Any) -> None:
    from rolecall.llm.grammar import native_grammar
    pay, balance = Tool("Send Money", Transfer), Tool("get_balance", NoArgs)
    grammar = native_grammar(tool_specs([pay, balance]))
    assert accepts(vocab, grammar, native_call("send_money", {"recipient": "GB29", "amount": 42.5}))
    assert accepts(vocab, grammar, native_call("send_money", {"recipient": "GB29", "amount": 1, "subject": None}))
    assert accepts(vocab, grammar, native_call("get_balance", {}))
    assert accepts(vocab, grammar, "The balance is 1,810.00 EUR.")
    # crewai's sanitised name only; no invented argument; no argument left out that is required
    assert not accepts(vocab, grammar, native_call("Send Money", {"recipient": "GB29", "amount": 1}))
    assert not accepts(vocab, grammar, native_call("get_balance", {"iban": "123"}))
    assert not accepts(vocab, grammar, native_call("send_money", {"amount": 1}))
    assert not accepts(vocab, grammar, "<tool_call> half a call")  # an answer cannot start like a call
    assert not accepts(vocab, grammar, '{"name": "send_money", "arguments": {"amount": 1}}')  # nor be one


def test_native_call_before_the_answer_when_the_agent_holds_tools(vocab: Any) -> None:
    from rolecall.llm.grammar import native_grammar
    allowed, final = next_steps(tool_specs([SEARCH]), conversation(), Shape())
    grammar = native_grammar(allowed, final=final)
    assert not accepts(vocab, grammar, "An invented answer.")
    assert accepts(vocab, grammar, native_call("search_knowledge", {"query": "sodium"}))


def test_native_results_count_as_observed_and_carry_the_coworkers_answer() -> None:
    from rolecall.llm.grammar import observed_tools
    messages = [*conversation(), {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "delegate_work_to_coworker",
                                                                  "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "name": "delegate_work_to_coworker", "content": "five facts"}]
    assert observed_tools(messages) == {"delegate_work_to_coworker"}
    assert coworker_answer(messages) == "five facts"
    assert next_steps(tool_specs([DELEGATE]), messages, MANAGER) == ([], True)


def test_native_messages_reach_the_chat_template_in_qwens_tool_format() -> None:
    from rolecall.llm.native import chat, parsed
    turns = chat([{"role": "system", "content": "You are Clerk."},
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "c1", "type": "function", "function": {"name": "get_balance", "arguments": "{}"}}]},
                  {"role": "tool", "tool_call_id": "c1", "name": "get_balance", "content": "1810"}], "SIGNATURES")
    assert "<tools>\nSIGNATURES\n</tools>" in turns[0]["content"]
    assert turns[1] == {"role": "assistant", "content": '<tool_call>\n{"name": "get_balance", "arguments": {}}\n'
                                                         "</tool_call>"}
    assert turns[2]["content"].startswith("<tool_response>\n1810\n</tool_response>\n")  # then crewai's question
    [call] = parsed(native_call("send_money", {"recipient": "Final Answer: x", "amount": 1}))
    assert (call.name, call.arguments) == ("send_money", {"recipient": "Final Answer: x", "amount": 1})
    assert parsed("The balance is 1810.") is None


def test_identifier_arguments_only_copy_values_the_conversation_holds(vocab: Any) -> None:
    from rolecall.llm.grammar import native_grammar
    from rolecall.llm.grounding import grounded
    messages = [{"role": "system", "content": "You are a banking assistant. Example IBAN XX00EXAMPLE1"},
                {"role": "user", "content": "Can you please pay the bill 'bill-december-2023.txt' for me?"},
                {"role": "tool", "name": "read_file", "content": "Bill for the car rental\n"
                                                                   "recipient: UK12345678901234567890\nTotal 98.70"}]
    grammar = native_grammar(grounded(tool_specs([Tool("send_money", Transfer), Tool("read", Query)]), messages))
    copied = {"recipient": "UK12345678901234567890", "amount": 98.7, "subject": "Car rental"}
    assert accepts(vocab, grammar, native_call("send_money", copied))  # the subject stays free text
    assert not accepts(vocab, grammar, native_call("send_money", {**copied, "recipient": "12345678901234567890"}))
    assert not accepts(vocab, grammar, native_call("send_money", {**copied, "recipient": "XX00EXAMPLE1"}))
    assert accepts(vocab, grammar, native_call("read", {"query": "anything at all"}))  # not an identifier
    # an argument of a kind takes only values of that kind: a file name is no recipient and no date
    assert not accepts(vocab, grammar, native_call("send_money", {**copied, "recipient": "bill-december-2023.txt"}))


class Dated(BaseModel):
    date: str


def test_a_date_argument_copies_a_date_or_stays_free(vocab: Any) -> None:
    from rolecall.llm.grammar import native_grammar
    from rolecall.llm.grounding import grounded
    task = [{"role": "user", "content": "Pay 'bill.txt' (12.00) on 2022-03-01 please"}]
    grammar = native_grammar(grounded(tool_specs([Tool("plan", Dated)]), task))
    assert accepts(vocab, grammar, native_call("plan", {"date": "2022-03-01"}))
    assert not accepts(vocab, grammar, native_call("plan", {"date": "bill.txt"}))
    from rolecall.llm.grounding import _fitting, candidates
    assert _fitting("file", candidates(task)) == ["bill.txt"]  # 12.00 is an amount, not a file
    free = native_grammar(grounded(tool_specs([Tool("plan", Dated)]), [{"role": "user", "content": "Pay it soon"}]))
    assert accepts(vocab, free, native_call("plan", {"date": "tomorrow"}))  # nothing to copy: not forced


def test_a_tool_whose_identifier_is_not_known_yet_waits_for_one_that_finds_it() -> None:
    from rolecall.llm.grounding import grounded

    class Pay(BaseModel):
        recipient: str
        amount: float

    class Read(BaseModel):
        file_path: str
    tools = tool_specs([Tool("send_money", Pay), Tool("read_file", Read)])
    task = [{"role": "user", "content": "Can you please pay the bill 'bill-december-2023.txt' for me?"}]
    assert [t.name for t in grounded(tools, task)] == ["read_file"]
    read = [*task, {"role": "tool", "name": "read_file", "content": "IBAN: UK12345678901234567890\nTotal: 98.70"}]
    assert [t.name for t in grounded(tools, read)] == ["send_money", "read_file"]


def test_the_tool_just_called_is_not_offered_again_straight_away() -> None:
    from rolecall.llm.grammar import not_again
    tools = tool_specs([SEARCH, FLIGHTS])
    called = [*conversation(), {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "search_knowledge", "arguments": "{}"}}]},
              {"role": "tool", "tool_call_id": "c1", "name": "search_knowledge", "content": "found"}]
    assert [t.name for t in not_again(tools, called, final=True)] == ["flight_search"]
    assert [t.name for t in not_again(tools[:1], called, final=True)] == []  # then the answer
    assert [t.name for t in not_again(tools[:1], called, final=False)] == ["search_knowledge"]  # never a dead end
    assert [t.name for t in not_again(tools, conversation(), final=True)] == ["search_knowledge", "flight_search"]


def test_an_answer_that_asks_for_a_call_is_taken_as_one() -> None:
    """The 0.5B model wrote its next call as answer text, or said "yes, another call" in words:
    both mean a call, which is then generated under the grammar."""
    from rolecall.llm.native import meant_call
    tools = tool_specs([SEARCH, FLIGHTS])
    assert meant_call('```json\n{"name": "search_knowledge", "arguments": {"query": "x"}}\n```', tools)
    assert meant_call("Yes, the request needs another tool call (an action). Call the next tool.", tools)
    assert not meant_call("The balance is 1810. Nothing else is needed.", tools)
    assert not meant_call('{"name": "send_money"}', tools)  # not one of this agent's tools


def test_a_tool_that_needs_a_number_waits_until_one_was_seen() -> None:
    """"Refund GB29... for what they sent me": the amount is in the transaction history, so
    send_money waits for a tool that looks it up; a number in the task is enough."""
    from rolecall.llm.grounding import grounded

    class Pay(BaseModel):
        recipient: str
        amount: float

    class History(BaseModel):
        n: int = 100
    tools = tool_specs([Tool("send_money", Pay), Tool("get_most_recent_transactions", History)])
    task = [{"role": "user", "content": "Please refund GB29NWBK60161331926819 for what they've sent me."}]
    assert [t.name for t in grounded(tools, task)] == ["get_most_recent_transactions"]
    seen = [*task, {"role": "tool", "name": "get_most_recent_transactions",
                    "content": "- amount: 10.0\n  sender: GB29NWBK60161331926819"}]
    assert [t.name for t in grounded(tools, seen)] == ["send_money", "get_most_recent_transactions"]
    told = [{"role": "user", "content": "Send 12.00 to GB29NWBK60161331926819 on 2022-03-01."}]
    assert [t.name for t in grounded(tools, told)] == ["send_money", "get_most_recent_transactions"]
    dated = [{"role": "user", "content": "Pay GB29NWBK60161331926819 on 2022-03-01, see 'bill-2.txt'."}]
    assert [t.name for t in grounded(tools, dated)] == ["get_most_recent_transactions"]  # no amount in a date
