"""What flight_search and hotel_search ask of a travel data source, and which source they get.

Two providers implement the same interface: ``OfflineProvider`` reads the bundled dataset
(``data/``, written by ``scripts/generate_travel_data.py``) and is the default, so the crew runs
with no network and no account; ``HttpProvider`` calls a flight/hotel API and is chosen by
setting ``TRAVEL_API_URL`` (plus ``TRAVEL_API_KEY`` if the API wants one).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

API_URL_ENV = "TRAVEL_API_URL"
API_KEY_ENV = "TRAVEL_API_KEY"
API_TIMEOUT_ENV = "TRAVEL_API_TIMEOUT"


class TravelError(Exception):
    """A search that cannot be answered: bad input, unknown place, or a failing API. The message
    is written for the agent (and the person reading the run), so it says what to change."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable  # a timeout or a 5xx may pass; a bad date will not


@dataclass(frozen=True)
class Flight:
    flight_no: str  # the first leg's number for a connection
    airline: str
    origin: str  # IATA codes
    destination: str
    depart: str  # local time at origin, "YYYY-MM-DD HH:MM"
    arrive: str  # local time at destination
    duration_min: int
    price_usd: int  # one traveller, one way, economy
    stops: int = 0
    via: str = ""  # connection airport, when stops > 0
    aircraft: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Hotel:
    name: str
    city: str
    area: str
    stars: int
    rating: float  # guest score out of 10
    nights: int
    nightly_usd: int  # average over the stay, one room
    total_usd: int
    breakfast: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TravelProvider(Protocol):
    name: str

    def search_flights(self, origin: str, destination: str, day: date) -> list[Flight]:
        """Flights on ``day``, cheapest first; an empty list when nothing flies."""
        ...

    def search_hotels(self, city: str, check_in: date, check_out: date) -> list[Hotel]:
        """Hotels with a room for the whole stay, cheapest first."""
        ...


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise TravelError(f"{what} must be a date written YYYY-MM-DD, got {text!r}") from None


def stay(check_in: str, check_out: str) -> tuple[date, date]:
    start, end = parse_day(check_in, "check_in"), parse_day(check_out, "check_out")
    if end <= start:
        raise TravelError(f"check_out ({end}) must be after check_in ({start})")
    if (end - start).days > 30:
        raise TravelError(f"a stay of {(end - start).days} nights is too long to price; split it (30 at most)")
    return start, end


def provider_from_env(data_dir: Path, env: Mapping[str, str] | None = None) -> TravelProvider:
    """The HTTP provider when ``TRAVEL_API_URL`` is set, else the bundled offline dataset."""
    env = os.environ if env is None else env
    url = (env.get(API_URL_ENV) or "").strip()
    if url:
        from .web import HttpProvider
        timeout = env.get(API_TIMEOUT_ENV) or "10"
        try:
            seconds = float(timeout)
        except ValueError:
            raise TravelError(f"{API_TIMEOUT_ENV} must be a number of seconds, got {timeout!r}") from None
        return HttpProvider(url, (env.get(API_KEY_ENV) or "").strip() or None, seconds)
    from .offline import OfflineProvider
    return OfflineProvider(data_dir)
