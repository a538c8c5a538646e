"""trip_planner: the travel providers (offline dataset, HTTP API), the data generator, and the crew's shape."""
from __future__ import annotations

import importlib.util
import socket
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from crews.trip_planner.travel import TravelError, parse_day, provider_from_env, stay
from crews.trip_planner.travel.offline import OfflineProvider, load, night_price
from crews.trip_planner.travel.web import HttpProvider
from fake_travel_api import DATA, FakeTravelApi
from helpers import REPO

CREW = REPO / "crews" / "trip_planner"
FRIDAY, MONDAY, TUESDAY = date(2027, 4, 16), date(2027, 4, 19), date(2027, 4, 20)
DELEGATE = "Delegate work to coworker"


@pytest.fixture(scope="module")
def offline() -> OfflineProvider:
    return OfflineProvider(DATA)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_travel_data", REPO / "scripts" / "generate_travel_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


# --- offline provider -------------------------------------------------------------

def test_offline_flights_are_dated_priced_and_cheapest_first(offline):
    flights = offline.search_flights("London", "Lisbon", FRIDAY)
    assert len(flights) >= 3
    assert {(f.origin, f.destination, f.stops) for f in flights} == {("LHR", "LIS", 0)}
    assert all(f.depart.startswith("2027-04-16 ") for f in flights)
    assert [f.price_usd for f in flights] == sorted(f.price_usd for f in flights)
    # London and Lisbon share a UTC offset in the dataset, so the clock moves by the flight time
    for f in flights:
        elapsed = datetime.fromisoformat(f.arrive) - datetime.fromisoformat(f.depart)
        assert elapsed == timedelta(minutes=f.duration_min) and 120 <= f.duration_min <= 200
    # codes, city names and "City (CODE)" all find the same airports
    assert offline.search_flights("lhr", "Lisbon (LIS)", FRIDAY) == flights


def test_arrival_is_in_the_destinations_local_time(offline):
    [first, *_] = offline.search_flights("LHR", "JFK", FRIDAY)
    elapsed = datetime.fromisoformat(first.arrive) - datetime.fromisoformat(first.depart)
    assert elapsed == timedelta(minutes=first.duration_min) - timedelta(hours=5)  # New York is UTC-5
    assert 400 <= first.duration_min <= 520


def test_fares_are_reproducible_and_follow_the_weekday(offline):
    friday = {f.flight_no: f.price_usd for f in offline.search_flights("LHR", "LIS", FRIDAY)}
    tuesday = {f.flight_no: f.price_usd for f in offline.search_flights("LHR", "LIS", TUESDAY)}
    assert friday == {f.flight_no: f.price_usd for f in OfflineProvider(DATA).search_flights("LHR", "LIS", FRIDAY)}
    both = friday.keys() & tuesday.keys()
    assert both and all(friday[n] > tuesday[n] for n in both)  # Friday demand beats the daily variation


def test_without_a_nonstop_the_search_offers_one_stop_connections(offline):
    data = load(DATA.resolve())
    assert not any(s.destination == "SIN" for s in data.departures["PRG"])
    trips = offline.search_flights("Prague", "Singapore", FRIDAY)
    assert trips and all(t.stops == 1 and t.via not in ("PRG", "SIN", "") for t in trips)
    for t in trips:
        first, second = t.flight_no.split("+")
        assert any(s.flight_no == first and s.destination == t.via for s in data.departures["PRG"])
        assert any(s.flight_no == second and s.destination == "SIN" for s in data.departures[t.via])
        assert not {first[:2], second[:2]} & data.low_cost  # budget airlines sell no connections


def test_hotels_are_priced_night_by_night(offline):
    hotels = offline.search_hotels("Lisbon, Portugal", FRIDAY, MONDAY)
    assert len(hotels) >= 5 and {h.city for h in hotels} == {"Lisbon"}
    assert [h.total_usd for h in hotels] == sorted(h.total_usd for h in hotels)
    rows = {p.name: p for p in load(DATA.resolve()).hotels["LIS"]}
    for h in hotels:
        p = rows[h.name]
        nights = [FRIDAY + timedelta(days=n) for n in range(3)]
        assert h.nights == 3 and h.total_usd == sum(night_price(p.nightly_usd, p.hotel_id, n) for n in nights)
        # a Friday night costs more than a Tuesday night in the same room
        assert night_price(p.nightly_usd, p.hotel_id, FRIDAY) > night_price(p.nightly_usd, p.hotel_id, TUESDAY)


@pytest.mark.parametrize("call, message", [
    (lambda p: p.search_flights("Lisbn", "London", FRIDAY), "no airport for 'Lisbn' in the offline dataset; "
                                                            "did you mean Lisbon (LIS)?"),
    (lambda p: p.search_flights("LIS", "Lisbon", FRIDAY), "origin and destination are both LIS"),
    (lambda p: parse_day("next friday", "date"), "date must be a date written YYYY-MM-DD, got 'next friday'"),
    (lambda p: stay("2027-04-19", "2027-04-16"), "check_out (2027-04-16) must be after check_in (2027-04-19)"),
])
def test_bad_searches_say_what_to_change(offline, call, message):
    with pytest.raises(TravelError) as caught:
        call(offline)
    assert str(caught.value) == message


def test_a_missing_dataset_says_how_to_make_it(tmp_path):
    with pytest.raises(TravelError, match="run python scripts/generate_travel_data.py --out"):
        OfflineProvider(tmp_path).search_hotels("Lisbon", FRIDAY, MONDAY)


# --- the data generator -----------------------------------------------------------

def test_generator_is_deterministic_and_made_the_committed_data(tmp_path):
    gen = _generator()
    gen.write(tmp_path / "a")
    gen.write(tmp_path / "b")
    for name in ("airports.csv", "airlines.csv", "flights.csv", "hotels.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() == (DATA / name).read_bytes(), \
            f"{name} is stale: run python scripts/generate_travel_data.py"
    assert gen.generate(seed=1)["flights.csv"] != gen.generate()["flights.csv"]


def test_generated_data_is_consistent_and_big_enough():
    data = load(DATA.resolve())
    flights = [s for found in data.departures.values() for s in found]
    routes = {(s.origin, s.destination) for s in flights}
    assert len(routes) // 2 >= 250 and sum(map(len, data.hotels.values())) >= 300
    assert all((b, a) in routes for a, b in routes)  # every route is flown both ways
    assert all(len(code) == 3 and code.isupper() for code in data.airports)
    assert all(s.airline in data.airlines and s.destination in data.airports for s in flights)
    assert Counter(s.flight_no for s in flights).most_common(1)[0][1] == 1  # flight numbers are unique
    assert set(data.hotels) == set(data.airports)  # every city has hotels


# --- the HTTP provider against a fake API -------------------------------------------

def test_http_provider_returns_what_the_api_serves(offline):
    with FakeTravelApi(api_key="s3cret") as api:
        web = HttpProvider(api.url, "s3cret")
        assert web.search_flights("London", "Lisbon", FRIDAY) == offline.search_flights("London", "Lisbon", FRIDAY)
        assert web.search_hotels("Lisbon", FRIDAY, MONDAY) == offline.search_hotels("Lisbon", FRIDAY, MONDAY)
    assert [(r.path, r.query, r.authorization, r.status) for r in api.requests] == [
        ("/v1/flights", {"origin": "London", "destination": "Lisbon", "date": "2027-04-16"}, "Bearer s3cret", 200),
        ("/v1/hotels", {"city": "Lisbon", "check_in": "2027-04-16", "check_out": "2027-04-19"}, "Bearer s3cret", 200)]


@pytest.mark.parametrize("fault, message, retryable", [
    (503, "answered HTTP 503 Service Unavailable: fare engine is temporarily unavailable", True),
    (429, "answered HTTP 429 Too Many Requests: rate limit exceeded, retry in 30 s", True),
    (401, "answered HTTP 401 Unauthorized: invalid or missing API key", False),
    ("html", "answered HTTP 502 Bad Gateway: <html><body><h1>502 Bad Gateway</h1></body></html>", True),
    ("not-json", "did not return JSON: 'maintenance window, back at 04:00 UTC'", False),
    ("wrong-shape", "returned JSON without a 'flights' list", False),
])
def test_http_errors_are_reported_clearly(fault, message, retryable):
    with FakeTravelApi(faults=[fault]) as api:
        url = api.url
        with pytest.raises(TravelError) as caught:
            HttpProvider(url, "s3cret").search_flights("LHR", "LIS", FRIDAY)
    text = str(caught.value)
    assert text.startswith("travel API error: ") and message in text
    assert f"{url}/flights?origin=LHR&destination=LIS&date=2027-04-16" in text  # where it failed
    assert "s3cret" not in text  # and never the key
    assert caught.value.retryable is retryable


def test_a_wrong_key_is_refused_by_the_api():
    with FakeTravelApi(api_key="right") as api:
        with pytest.raises(TravelError, match="HTTP 401 Unauthorized: invalid or missing API key"):
            HttpProvider(api.url, "wrong").search_hotels("Lisbon", FRIDAY, MONDAY)


def test_an_unreachable_api_names_the_setting_to_check():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TravelError) as caught:
        HttpProvider(f"http://127.0.0.1:{port}/v1", timeout=2).search_flights("LHR", "LIS", FRIDAY)
    assert str(caught.value).startswith(f"travel API unreachable: GET http://127.0.0.1:{port}/v1/flights?")
    assert "check TRAVEL_API_URL, or unset it to use the offline dataset" in str(caught.value)


def test_env_vars_choose_the_provider():
    assert isinstance(provider_from_env(DATA, {}), OfflineProvider)
    web = provider_from_env(DATA, {"TRAVEL_API_URL": "https://api.example.com/v1/", "TRAVEL_API_KEY": "k"})
    assert isinstance(web, HttpProvider) and (web.base_url, web.api_key, web.timeout) == \
        ("https://api.example.com/v1", "k", 10.0)
    with pytest.raises(TravelError, match="TRAVEL_API_TIMEOUT must be a number of seconds, got 'soon'"):
        provider_from_env(DATA, {"TRAVEL_API_URL": "https://x", "TRAVEL_API_TIMEOUT": "soon"})


# --- the tools -------------------------------------------------------------------------

def test_flight_search_tool_lists_the_cheapest_flights(monkeypatch):
    from crews.trip_planner.tools import FlightSearchTool, HotelSearchTool
    monkeypatch.delenv("TRAVEL_API_URL", raising=False)
    tool = FlightSearchTool(crew_dir=str(CREW), max_results=3)
    lines = tool.run(origin="London", destination="Lisbon", date="2027-04-16").splitlines()
    assert lines[0] == ("5 flights LHR -> LIS on 2027-04-16 (offline provider); cheapest 3, "
                        "fare per traveller, one way, USD:")
    assert lines[1] == ("1. VY104 Vueling: departs 2027-04-16 19:40 LHR, arrives 2027-04-16 22:10 LIS, "
                        "2h30, nonstop, $129")
    assert len(lines) == 4
    hotels = HotelSearchTool(crew_dir=str(CREW), max_results=2).run(
        city="Lisbon", check_in="2027-04-16", check_out="2027-04-19")
    assert hotels.splitlines()[0].endswith("(3 nights, offline provider); cheapest 2, one room, USD:")
    assert len(hotels.splitlines()) == 3


def test_a_failing_api_reaches_the_agent_as_a_tool_failure(monkeypatch):
    from crewai.tools.tool_failure import ToolFailure

    from crews.trip_planner.tools import FlightSearchTool, HotelSearchTool
    with FakeTravelApi(faults=[503]) as api:
        monkeypatch.setenv("TRAVEL_API_URL", api.url)
        failed = FlightSearchTool(crew_dir=str(CREW)).run(origin="LHR", destination="LIS", date="2027-04-16")
    assert isinstance(failed, ToolFailure) and failed.retryable
    assert failed.message.startswith("flight_search failed: travel API error: GET ")
    assert "HTTP 503 Service Unavailable: fare engine is temporarily unavailable" in failed.message
    bad_stay = HotelSearchTool(crew_dir=str(CREW)).run(city="Lisbon", check_in="2027-04-19", check_out="2027-04-19")
    assert isinstance(bad_stay, ToolFailure) and not bad_stay.retryable
    assert bad_stay.message == "hotel_search failed: check_out (2027-04-19) must be after check_in (2027-04-19)"


# --- the crew on the scripted model --------------------------------------------------------

FLIGHT_OUT = {"origin": "London", "destination": "Lisbon", "date": "2027-04-16"}
FLIGHT_BACK = {"origin": "Lisbon", "destination": "London", "date": "2027-04-19"}
STAY = {"city": "Lisbon", "check_in": "2027-04-16", "check_out": "2027-04-19"}
SCRIPT = {
    "tasks": {  # the orchestrator's own turns, per task; after delegating it relays the answer
        "flight_task": [{"delegate": "Flight Agent", "task": "Flights London-Lisbon 2027-04-16, back 2027-04-19",
                         "context": "2 travellers"}],
        "hotel_task": [{"delegate": "Hotel Agent", "task": "Hotel in Lisbon 2027-04-16 to 2027-04-19",
                        "context": "2 travellers, budget 1500 USD"}],
        "itinerary_task": [{"delegate": "Itinerary Writer", "task": "Plan each day with prices",
                            "context": "VY104 out, VY105 back, Maison Claire Lisbon"}],
    },
    "agents": {
        "flight_agent": [{"tool": "flight_search", "input": FLIGHT_OUT}, {"tool": "flight_search", "input": FLIGHT_BACK},
                         "Out VY104 $129, back VY105 $95 per traveller."],
        "hotel_agent": [{"tool": "hotel_search", "input": STAY}, "Maison Claire Lisbon Old Town, $270 total."],
        "itinerary_writer": ["Day 1 (2027-04-16): fly VY104, check in - 258 USD\nTotal: 1100 USD\nWithin budget: yes"],
    },
}


def test_the_orchestrator_delegates_each_search_to_its_specialist(run_crew, repo_project, monkeypatch):
    monkeypatch.delenv("TRAVEL_API_URL", raising=False)
    result = run_crew("trip_planner", script=SCRIPT, project=repo_project)
    assert result.ok, result.error
    assert [(d.task, d.manager, d.coworker, d.kind) for d in result.delegations] == [
        ("flight_task", "travel_orchestrator", "flight_agent", "delegate"),
        ("hotel_task", "travel_orchestrator", "hotel_agent", "delegate"),
        ("itinerary_task", "travel_orchestrator", "itinerary_writer", "delegate")]
    assert [(t.key, t.agent, t.status) for t in result.tasks] == [
        ("flight_task", "flight_agent", "completed"), ("hotel_task", "hotel_agent", "completed"),
        ("itinerary_task", "itinerary_writer", "completed")]
    searches = [c for c in result.tool_calls if c.tool != DELEGATE]
    assert [(c.tool, c.agent, c.task, c.arguments) for c in searches] == [
        ("flight_search", "flight_agent", "flight_task", FLIGHT_OUT),
        ("flight_search", "flight_agent", "flight_task", FLIGHT_BACK),
        ("hotel_search", "hotel_agent", "hotel_task", STAY)]
    # the searches really ran on the bundled dataset: the agent got the tool's full answer
    from crews.trip_planner.tools import FlightSearchTool, HotelSearchTool
    expected = [len(FlightSearchTool(crew_dir=str(CREW)).run(**FLIGHT_OUT)),
                len(FlightSearchTool(crew_dir=str(CREW)).run(**FLIGHT_BACK)),
                len(HotelSearchTool(crew_dir=str(CREW)).run(**STAY))]
    assert [c.output_chars for c in searches] == expected
    assert result.output.endswith("Within budget: yes")
    assert (result.run_dir / "itinerary.md").read_text().strip() == result.output.strip()
    # the specialists and the writer called the model only inside their own task
    assert {(c.agent, c.task) for c in result.model_calls if c.agent != "travel_orchestrator"} == {
        ("flight_agent", "flight_task"), ("hotel_agent", "hotel_task"), ("itinerary_writer", "itinerary_task")}


def test_searches_go_to_the_http_api_when_configured(run_crew, repo_project, monkeypatch):
    script = {"tasks": SCRIPT["tasks"], "agents": {**SCRIPT["agents"], "flight_agent": [
        {"tool": "flight_search", "input": FLIGHT_OUT},  # the API is down: the agent reads why and tries again
        {"tool": "flight_search", "input": {**FLIGHT_OUT, "origin": "LHR"}},  # crewai refuses an identical repeat
        "Out VY104 $129."]}}
    with FakeTravelApi(api_key="k", faults=[503]) as api:
        monkeypatch.setenv("TRAVEL_API_URL", api.url)
        monkeypatch.setenv("TRAVEL_API_KEY", "k")
        result = run_crew("trip_planner", script=script, project=repo_project)
    assert result.ok, result.error
    assert [(r.path, r.query.get("origin") or r.query.get("city"), r.status) for r in api.requests] == [
        ("/v1/flights", "London", 503), ("/v1/flights", "LHR", 200), ("/v1/hotels", "Lisbon", 200)]
    searches = [c for c in result.tool_calls if c.tool != DELEGATE]
    assert [(c.tool, c.agent) for c in searches] == [("flight_search", "flight_agent")] * 2 + [
        ("hotel_search", "hotel_agent")]
    # the first search returned crewai's ToolFailure: recorded as an error, then the flight list
    assert searches[0].error and searches[0].output_chars is None
    assert searches[1].error is None and searches[1].output_chars > 0


def test_defaults_run_with_no_inputs_and_each_agent_holds_only_its_tools(run_crew, repo_project):
    result = run_crew("trip_planner", project=repo_project)  # what `main.py run trip_planner` does
    assert result.ok, result.error
    assert [d.coworker for d in result.delegations] == ["flight_agent", "hotel_agent", "itinerary_writer"]
    tools = {key: sorted(t.name for t in agent.tools) for key, agent in _assembled(repo_project).agents.items()}
    assert tools == {"travel_orchestrator": [], "flight_agent": ["flight_search"], "hotel_agent": ["hotel_search"],
                     "itinerary_writer": []}


def _assembled(project: Any) -> Any:
    from rolecall import load_crew
    from rolecall.assemble import assemble
    from rolecall.context import RunContext
    from rolecall.inputs import bind
    from rolecall.llm.factory import LlmPool
    crew = load_crew("trip_planner", project)
    problems = crew.warnings
    assert problems == []
    values, _ = bind(crew.inputs, {})
    return assemble(project, crew, values, LlmPool(RunContext.open(project), "scripted"), "scripted")
