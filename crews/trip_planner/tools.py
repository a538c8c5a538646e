"""trip_planner's tools: flight_search and hotel_search, over whichever travel provider is configured.

The argument schemas are three plain strings each, because the embedded 0.5B model fills
them reliably only when they are that simple. A failed search is returned as crewai's
``ToolFailure`` rather than raised: the agent reads one clear message and crewai marks the call
failed, instead of retrying a broken API three times.
"""
from __future__ import annotations

from pathlib import Path

from crewai.tools import BaseTool, EnvVar
from crewai.tools.tool_failure import ToolFailure
from pydantic import BaseModel, Field

from .travel import Flight, Hotel, TravelError, parse_day, provider_from_env, stay
from .travel.provider import TravelProvider


class FlightQuery(BaseModel):
    origin: str = Field(..., description="City or IATA airport code to fly from, e.g. London or LHR")
    destination: str = Field(..., description="City or IATA airport code to fly to, e.g. Lisbon or LIS")
    date: str = Field(..., description="Departure date, YYYY-MM-DD")


class HotelQuery(BaseModel):
    city: str = Field(..., description="City to stay in, e.g. Lisbon")
    check_in: str = Field(..., description="Arrival date, YYYY-MM-DD")
    check_out: str = Field(..., description="Departure date, YYYY-MM-DD")


class TravelTool(BaseTool):
    """What flight_search and hotel_search share: the dataset, how many results, the provider.

    A base class, not a tool: it sets no ``name`` and has no ``_run``, so rolecall does not
    offer it for binding. Its ``env_vars`` are inherited by both tools.
    """

    crew_dir: str = Field("", description="Set by rolecall: the crew's folder")
    data_dir: str = Field("data", description="Offline dataset folder, relative to the crew's folder")
    max_results: int = Field(5, ge=1, le=20)
    env_vars: list[EnvVar] = [
        EnvVar(name="TRAVEL_API_URL", required=False, description="Flight/hotel API base URL; unset = offline data"),
        EnvVar(name="TRAVEL_API_KEY", required=False, description="Bearer token for TRAVEL_API_URL"),
    ]

    def provider(self) -> TravelProvider:
        folder = Path(self.data_dir)
        return provider_from_env(folder if folder.is_absolute() else Path(self.crew_dir or ".") / folder)


class FlightSearchTool(TravelTool):
    name: str = "flight_search"
    description: str = "Find flights from origin to destination on a date, cheapest first, with times and prices."
    args_schema: type[BaseModel] = FlightQuery

    def _run(self, origin: str, destination: str, date: str) -> str | ToolFailure:
        try:
            provider = self.provider()
            day = parse_day(date, "date")
            found = provider.search_flights(origin, destination, day)
        except TravelError as exc:
            return ToolFailure(message=f"flight_search failed: {exc}", code="travel_error", retryable=exc.retryable)
        if not found:
            return f"No flights from {origin} to {destination} on {day} ({provider.name} provider); try another date."
        lines = [f"{len(found)} flights {found[0].origin} -> {found[0].destination} on {day} ({provider.name} "
                 f"provider); cheapest {min(len(found), self.max_results)}, fare per traveller, one way, USD:"]
        lines += [f"{i}. {flight_line(f)}" for i, f in enumerate(found[: self.max_results], 1)]
        return "\n".join(lines)


class HotelSearchTool(TravelTool):
    name: str = "hotel_search"
    description: str = "Find hotels in a city for a stay, cheapest first, with price per night and total."
    args_schema: type[BaseModel] = HotelQuery

    def _run(self, city: str, check_in: str, check_out: str) -> str | ToolFailure:
        try:
            provider = self.provider()
            start, end = stay(check_in, check_out)
            found = provider.search_hotels(city, start, end)
        except TravelError as exc:
            return ToolFailure(message=f"hotel_search failed: {exc}", code="travel_error", retryable=exc.retryable)
        if not found:
            return f"No hotels with rooms in {city} from {start} to {end} ({provider.name} provider)."
        lines = [f"{len(found)} hotels in {found[0].city}, {start} to {end} ({found[0].nights} nights, "
                 f"{provider.name} provider); cheapest {min(len(found), self.max_results)}, one room, USD:"]
        lines += [f"{i}. {hotel_line(h)}" for i, h in enumerate(found[: self.max_results], 1)]
        return "\n".join(lines)


def flight_line(f: Flight) -> str:
    hours, minutes = divmod(f.duration_min, 60)
    stops = "nonstop" if not f.stops else f"{f.stops} stop via {f.via}"
    return (f"{f.flight_no} {f.airline}: departs {f.depart} {f.origin}, arrives {f.arrive} {f.destination}, "
            f"{hours}h{minutes:02d}, {stops}, ${f.price_usd}")


def hotel_line(h: Hotel) -> str:
    breakfast = ", breakfast included" if h.breakfast else ""
    return (f"{h.name} ({h.stars}*, {h.area}, rated {h.rating}/10): ${h.nightly_usd}/night, "
            f"${h.total_usd} for {h.nights} nights{breakfast}")
