"""The default travel provider: the bundled dataset, priced for the date asked, no network.

The dataset holds a weekly schedule and base fares (see ``scripts/generate_travel_data.py``);
this module turns them into dated flights and stays. Prices move with the weekday and the
season, plus a small per-flight, per-date variation derived from a hash, so the same search
always gives the same answer (tests and sample runs are reproducible).
"""
from __future__ import annotations

import csv
import difflib
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from .provider import Flight, Hotel, TravelError

# Friday and Sunday flights sell at a premium, midweek ones cheaper; summer and the holidays cost more.
WEEKDAY_FACTOR = {1: 1.0, 2: 0.9, 3: 0.9, 4: 1.0, 5: 1.18, 6: 0.95, 7: 1.15}
SEASON_FACTOR = {1: 0.85, 2: 0.85, 3: 0.95, 4: 1.05, 5: 1.05, 6: 1.15, 7: 1.3, 8: 1.3, 9: 1.05, 10: 1.0,
                 11: 0.85, 12: 1.2}
WEEKEND_NIGHT = 1.15  # hotel nights starting Friday or Saturday
MIN_CONNECTION = timedelta(minutes=60)
MAX_CONNECTION = timedelta(hours=8)
CONNECTION_DISCOUNT = 0.85  # a through fare undercuts two separate tickets


@dataclass(frozen=True)
class Airport:
    code: str
    city: str
    country: str
    utc_offset: float


@dataclass(frozen=True)
class Scheduled:
    flight_no: str
    airline: str
    origin: str
    destination: str
    depart_local: str
    duration_min: int
    days: str  # ISO weekdays it operates, "1234567" = daily
    aircraft: str
    base_fare_usd: int


@dataclass(frozen=True)
class Property:
    hotel_id: str
    airport: str
    city: str
    name: str
    area: str
    stars: int
    rating: float
    nightly_usd: int
    breakfast: bool


@dataclass(frozen=True)
class Dataset:
    airports: dict[str, Airport]
    airlines: dict[str, str]
    low_cost: frozenset[str]  # airline codes that sell point-to-point only, never a connection
    departures: dict[str, list[Scheduled]]  # by origin code
    hotels: dict[str, list[Property]]  # by airport code


class OfflineProvider:
    name = "offline"

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)

    @property
    def data(self) -> Dataset:
        return load(self.data_dir.resolve())

    # --- places -----------------------------------------------------------------
    def airport(self, place: str) -> Airport:
        """An airport from an IATA code or a city name ("LIS", "Lisbon", "Lisbon, Portugal", "Lisbon (LIS)")."""
        text = " ".join(str(place).split())
        airports = self.data.airports
        for token in [text, *text.replace("(", " ").replace(")", " ").replace(",", " ").split()]:
            if len(token) == 3 and token.upper() in airports:
                return airports[token.upper()]
        by_city = {a.city.casefold(): a for a in airports.values()}
        folded = text.casefold()
        if folded in by_city:
            return by_city[folded]
        inside = [city for city in by_city if city in folded]
        if inside:
            return by_city[max(inside, key=len)]
        names = {**{city: f"{a.city} ({a.code})" for city, a in by_city.items()},
                 **{code.casefold(): f"{a.city} ({a.code})" for code, a in airports.items()}}
        close = dict.fromkeys(names[n] for n in difflib.get_close_matches(folded, sorted(names), n=3, cutoff=0.6))
        hint = f"; did you mean {' or '.join(close)}?" if close else "; use a city name or an IATA code such as LIS"
        raise TravelError(f"no airport for {place!r} in the offline dataset{hint}")

    # --- flights ----------------------------------------------------------------
    def search_flights(self, origin: str, destination: str, day: date) -> list[Flight]:
        src, dst = self.airport(origin), self.airport(destination)
        if src.code == dst.code:
            raise TravelError(f"origin and destination are both {src.code}")
        direct = [self._flight(s, day) for s in self._operating(src.code, day) if s.destination == dst.code]
        found = direct or self._connections(src, dst, day)
        return sorted(found, key=lambda f: (f.price_usd, f.depart))

    def _operating(self, origin: str, day: date) -> list[Scheduled]:
        weekday = str(day.isoweekday())
        return [s for s in self.data.departures.get(origin, []) if weekday in s.days]

    def _times(self, s: Scheduled, day: date) -> tuple[datetime, datetime]:
        """Departure and arrival as UTC datetimes."""
        airports = self.data.airports
        depart_local = datetime.combine(day, datetime.strptime(s.depart_local, "%H:%M").time())
        depart = depart_local - timedelta(hours=airports[s.origin].utc_offset)
        return depart, depart + timedelta(minutes=s.duration_min)

    def _local(self, moment: datetime, code: str) -> str:
        return (moment + timedelta(hours=self.data.airports[code].utc_offset)).strftime("%Y-%m-%d %H:%M")

    def _flight(self, s: Scheduled, day: date) -> Flight:
        depart, arrive = self._times(s, day)
        return Flight(s.flight_no, self.data.airlines.get(s.airline, s.airline), s.origin, s.destination,
                      self._local(depart, s.origin), self._local(arrive, s.destination), s.duration_min,
                      price(s.base_fare_usd, s.flight_no, day), aircraft=s.aircraft)

    def _connections(self, src: Airport, dst: Airport, day: date) -> list[Flight]:
        """One-stop trips when nothing flies nonstop; the second leg may leave the next day."""
        trips = []
        budget = self.data.low_cost
        for first in self._operating(src.code, day):
            if first.destination == dst.code or first.airline in budget:
                continue
            _, landed = self._times(first, day)
            for next_day in (day, day + timedelta(days=1)):
                for second in self._operating(first.destination, next_day):
                    if second.destination != dst.code or second.airline in budget:
                        continue
                    leaves, arrives = self._times(second, next_day)
                    if not MIN_CONNECTION <= leaves - landed <= MAX_CONNECTION:
                        continue
                    depart, _ = self._times(first, day)
                    fare = (price(first.base_fare_usd, first.flight_no, day)
                            + price(second.base_fare_usd, second.flight_no, next_day)) * CONNECTION_DISCOUNT
                    airline = self.data.airlines.get(first.airline, first.airline)
                    if second.airline != first.airline:
                        airline += " / " + self.data.airlines.get(second.airline, second.airline)
                    trips.append(Flight(f"{first.flight_no}+{second.flight_no}", airline, src.code, dst.code,
                                        self._local(depart, src.code), self._local(arrives, dst.code),
                                        int((arrives - depart).total_seconds() // 60), round(fare), 1,
                                        first.destination, first.aircraft))
        return trips

    # --- hotels -------------------------------------------------------------------
    def search_hotels(self, city: str, check_in: date, check_out: date) -> list[Hotel]:
        airport = self.airport(city)
        nights = [check_in + timedelta(days=n) for n in range((check_out - check_in).days)]
        found = []
        for p in self.data.hotels.get(airport.code, []):
            total = sum(night_price(p.nightly_usd, p.hotel_id, night) for night in nights)
            found.append(Hotel(p.name, p.city, p.area, p.stars, p.rating, len(nights),
                               round(total / len(nights)), total, p.breakfast))
        return sorted(found, key=lambda h: (h.total_usd, -h.rating))


def _jitter(key: str, low: float = 0.92, high: float = 1.12) -> float:
    """A stable pseudo-random factor for one flight or room on one date (no global RNG state)."""
    unit = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return low + (high - low) * unit


def price(base_fare: int, flight_no: str, day: date) -> int:
    factor = WEEKDAY_FACTOR[day.isoweekday()] * SEASON_FACTOR[day.month]
    return round(base_fare * factor * _jitter(f"{flight_no}:{day.isoformat()}"))


def night_price(nightly: int, hotel_id: str, night: date) -> int:
    weekend = WEEKEND_NIGHT if night.isoweekday() in (5, 6) else 1.0
    jitter = _jitter(f"{hotel_id}:{night.isoformat()}", 0.95, 1.08)
    return round(nightly * weekend * SEASON_FACTOR[night.month] * jitter)


@lru_cache(maxsize=4)
def load(data_dir: Path) -> Dataset:
    """The four CSV files, read once per folder per process."""
    def rows(name: str) -> list[dict[str, str]]:
        file = data_dir / name
        if not file.is_file():
            raise TravelError(f"the offline travel dataset has no {file}; "
                              f"run python scripts/generate_travel_data.py --out {data_dir}")
        with file.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    airports = {r["code"]: Airport(r["code"], r["city"], r["country"], float(r["utc_offset"]))
                for r in rows("airports.csv")}
    carriers = rows("airlines.csv")
    airlines = {r["code"]: r["name"] for r in carriers}
    low_cost = frozenset(r["code"] for r in carriers if r["low_cost"] == "True")
    departures: dict[str, list[Scheduled]] = {}
    for r in rows("flights.csv"):
        departures.setdefault(r["origin"], []).append(Scheduled(
            r["flight_no"], r["airline"], r["origin"], r["destination"], r["depart_local"],
            int(r["duration_min"]), r["days"], r["aircraft"], int(r["base_fare_usd"])))
    hotels: dict[str, list[Property]] = {}
    for r in rows("hotels.csv"):
        hotels.setdefault(r["airport"], []).append(Property(
            r["hotel_id"], r["airport"], r["city"], r["name"], r["area"], int(r["stars"]), float(r["rating"]),
            int(r["nightly_usd"]), r["breakfast"] == "True"))
    return Dataset(airports, airlines, low_cost, departures, hotels)
