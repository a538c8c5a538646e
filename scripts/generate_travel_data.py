"""Generate the offline travel dataset that trip_planner's flight_search and hotel_search read.

    python scripts/generate_travel_data.py            # rewrites crews/trip_planner/data/
    python scripts/generate_travel_data.py --out DIR --seed 7

Airports (real IATA codes, coordinates, standard-time UTC offsets), airlines (real IATA codes
and hubs) and a synthetic weekly schedule: which airlines fly which routes, departure times,
block times from great-circle distance, aircraft and base fares. Hotels are synthetic too, priced
by star rating and a per-city cost index. The same seed always writes byte-identical files, so
the committed data is reproducible and a test can prove it. Stdlib only.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

SEED = 20270416
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "crews" / "trip_planner" / "data"


@dataclass(frozen=True)
class Airport:
    code: str
    city: str
    country: str
    region: str  # EU, ME (Middle East and Africa), AS, OC, NA, SA
    lat: float
    lon: float
    utc_offset: float  # standard time; the dataset ignores daylight saving
    cost_index: float  # 1.0 = a mid-priced European capital; scales hotel prices


AIRPORTS = [
    Airport("LHR", "London", "GB", "EU", 51.470, -0.454, 0, 1.45),
    Airport("CDG", "Paris", "FR", "EU", 49.010, 2.548, 1, 1.40),
    Airport("AMS", "Amsterdam", "NL", "EU", 52.310, 4.768, 1, 1.35),
    Airport("FRA", "Frankfurt", "DE", "EU", 50.033, 8.571, 1, 1.10),
    Airport("MUC", "Munich", "DE", "EU", 48.354, 11.786, 1, 1.15),
    Airport("BER", "Berlin", "DE", "EU", 52.366, 13.503, 1, 1.00),
    Airport("MAD", "Madrid", "ES", "EU", 40.472, -3.561, 1, 0.95),
    Airport("BCN", "Barcelona", "ES", "EU", 41.297, 2.078, 1, 1.05),
    Airport("LIS", "Lisbon", "PT", "EU", 38.774, -9.134, 0, 0.90),
    Airport("OPO", "Porto", "PT", "EU", 41.248, -8.681, 0, 0.75),
    Airport("FCO", "Rome", "IT", "EU", 41.800, 12.239, 1, 1.05),
    Airport("MXP", "Milan", "IT", "EU", 45.630, 8.723, 1, 1.15),
    Airport("VIE", "Vienna", "AT", "EU", 48.110, 16.570, 1, 1.00),
    Airport("ZRH", "Zurich", "CH", "EU", 47.458, 8.548, 1, 1.65),
    Airport("BRU", "Brussels", "BE", "EU", 50.901, 4.484, 1, 1.00),
    Airport("CPH", "Copenhagen", "DK", "EU", 55.618, 12.656, 1, 1.30),
    Airport("ARN", "Stockholm", "SE", "EU", 59.650, 17.930, 1, 1.15),
    Airport("OSL", "Oslo", "NO", "EU", 60.194, 11.100, 1, 1.35),
    Airport("HEL", "Helsinki", "FI", "EU", 60.317, 24.963, 2, 1.05),
    Airport("DUB", "Dublin", "IE", "EU", 53.421, -6.270, 0, 1.25),
    Airport("EDI", "Edinburgh", "GB", "EU", 55.950, -3.373, 0, 1.10),
    Airport("PRG", "Prague", "CZ", "EU", 50.101, 14.260, 1, 0.75),
    Airport("WAW", "Warsaw", "PL", "EU", 52.166, 20.967, 1, 0.70),
    Airport("BUD", "Budapest", "HU", "EU", 47.437, 19.256, 1, 0.65),
    Airport("ATH", "Athens", "GR", "EU", 37.936, 23.947, 2, 0.80),
    Airport("NCE", "Nice", "FR", "EU", 43.658, 7.216, 1, 1.20),
    Airport("IST", "Istanbul", "TR", "EU", 41.275, 28.752, 3, 0.70),
    Airport("DXB", "Dubai", "AE", "ME", 25.253, 55.364, 4, 1.20),
    Airport("DOH", "Doha", "QA", "ME", 25.273, 51.608, 3, 1.05),
    Airport("TLV", "Tel Aviv", "IL", "ME", 32.011, 34.887, 2, 1.30),
    Airport("CAI", "Cairo", "EG", "ME", 30.122, 31.406, 2, 0.45),
    Airport("RAK", "Marrakesh", "MA", "ME", 31.607, -8.036, 1, 0.60),
    Airport("NBO", "Nairobi", "KE", "ME", -1.319, 36.928, 3, 0.60),
    Airport("JNB", "Johannesburg", "ZA", "ME", -26.139, 28.246, 2, 0.60),
    Airport("CPT", "Cape Town", "ZA", "ME", -33.965, 18.602, 2, 0.70),
    Airport("DEL", "Delhi", "IN", "AS", 28.556, 77.100, 5.5, 0.45),
    Airport("BOM", "Mumbai", "IN", "AS", 19.089, 72.868, 5.5, 0.55),
    Airport("BKK", "Bangkok", "TH", "AS", 13.690, 100.750, 7, 0.50),
    Airport("SIN", "Singapore", "SG", "AS", 1.364, 103.991, 8, 1.35),
    Airport("KUL", "Kuala Lumpur", "MY", "AS", 2.746, 101.710, 8, 0.50),
    Airport("HKG", "Hong Kong", "HK", "AS", 22.308, 113.918, 8, 1.30),
    Airport("TPE", "Taipei", "TW", "AS", 25.078, 121.233, 8, 0.80),
    Airport("PVG", "Shanghai", "CN", "AS", 31.143, 121.805, 8, 0.85),
    Airport("PEK", "Beijing", "CN", "AS", 40.080, 116.585, 8, 0.80),
    Airport("ICN", "Seoul", "KR", "AS", 37.460, 126.441, 9, 0.95),
    Airport("HND", "Tokyo", "JP", "AS", 35.552, 139.780, 9, 1.10),
    Airport("SYD", "Sydney", "AU", "OC", -33.946, 151.177, 10, 1.25),
    Airport("MEL", "Melbourne", "AU", "OC", -37.669, 144.841, 10, 1.10),
    Airport("AKL", "Auckland", "NZ", "OC", -37.008, 174.792, 12, 1.05),
    Airport("JFK", "New York", "US", "NA", 40.640, -73.779, -5, 1.70),
    Airport("BOS", "Boston", "US", "NA", 42.366, -71.010, -5, 1.45),
    Airport("ORD", "Chicago", "US", "NA", 41.979, -87.905, -6, 1.25),
    Airport("ATL", "Atlanta", "US", "NA", 33.640, -84.427, -5, 1.05),
    Airport("MIA", "Miami", "US", "NA", 25.796, -80.287, -5, 1.30),
    Airport("DEN", "Denver", "US", "NA", 39.856, -104.674, -7, 1.10),
    Airport("LAX", "Los Angeles", "US", "NA", 33.942, -118.408, -8, 1.40),
    Airport("SFO", "San Francisco", "US", "NA", 37.619, -122.375, -8, 1.55),
    Airport("SEA", "Seattle", "US", "NA", 47.450, -122.309, -8, 1.25),
    Airport("YYZ", "Toronto", "CA", "NA", 43.677, -79.631, -5, 1.15),
    Airport("YVR", "Vancouver", "CA", "NA", 49.195, -123.184, -8, 1.20),
    Airport("MEX", "Mexico City", "MX", "NA", 19.436, -99.072, -6, 0.60),
    Airport("BOG", "Bogota", "CO", "SA", 4.702, -74.147, -5, 0.50),
    Airport("LIM", "Lima", "PE", "SA", -12.022, -77.114, -5, 0.55),
    Airport("GRU", "Sao Paulo", "BR", "SA", -23.435, -46.473, -3, 0.70),
    Airport("EZE", "Buenos Aires", "AR", "SA", -34.822, -58.536, -3, 0.60),
]


@dataclass(frozen=True)
class Airline:
    code: str
    name: str
    hubs: tuple[str, ...]
    low_cost: bool = False
    region: str = ""  # low-cost carriers fly anywhere inside this region


AIRLINES = [
    Airline("BA", "British Airways", ("LHR", "EDI")),
    Airline("AF", "Air France", ("CDG", "NCE")),
    Airline("KL", "KLM", ("AMS",)),
    Airline("LH", "Lufthansa", ("FRA", "MUC")),
    Airline("IB", "Iberia", ("MAD",)),
    Airline("TP", "TAP Air Portugal", ("LIS", "OPO")),
    Airline("AZ", "ITA Airways", ("FCO", "MXP")),
    Airline("LX", "SWISS", ("ZRH",)),
    Airline("OS", "Austrian Airlines", ("VIE",)),
    Airline("SN", "Brussels Airlines", ("BRU",)),
    Airline("SK", "SAS", ("CPH", "ARN", "OSL")),
    Airline("AY", "Finnair", ("HEL",)),
    Airline("EI", "Aer Lingus", ("DUB",)),
    Airline("A3", "Aegean Airlines", ("ATH",)),
    Airline("LO", "LOT Polish Airlines", ("WAW",)),
    Airline("TK", "Turkish Airlines", ("IST",)),
    Airline("FR", "Ryanair", (), True, "EU"),
    Airline("U2", "easyJet", (), True, "EU"),
    Airline("W6", "Wizz Air", (), True, "EU"),
    Airline("VY", "Vueling", ("BCN",), True, "EU"),
    Airline("EK", "Emirates", ("DXB",)),
    Airline("QR", "Qatar Airways", ("DOH",)),
    Airline("LY", "El Al", ("TLV",)),
    Airline("MS", "EgyptAir", ("CAI",)),
    Airline("AT", "Royal Air Maroc", ("RAK",)),
    Airline("KQ", "Kenya Airways", ("NBO",)),
    Airline("SA", "South African Airways", ("JNB", "CPT")),
    Airline("AI", "Air India", ("DEL", "BOM")),
    Airline("TG", "Thai Airways", ("BKK",)),
    Airline("SQ", "Singapore Airlines", ("SIN",)),
    Airline("MH", "Malaysia Airlines", ("KUL",)),
    Airline("CX", "Cathay Pacific", ("HKG",)),
    Airline("CI", "China Airlines", ("TPE",)),
    Airline("MU", "China Eastern", ("PVG",)),
    Airline("CA", "Air China", ("PEK",)),
    Airline("KE", "Korean Air", ("ICN",)),
    Airline("NH", "ANA", ("HND",)),
    Airline("QF", "Qantas", ("SYD", "MEL")),
    Airline("NZ", "Air New Zealand", ("AKL",)),
    Airline("AA", "American Airlines", ("JFK", "ORD", "MIA", "LAX")),
    Airline("DL", "Delta Air Lines", ("ATL", "JFK", "SEA", "BOS")),
    Airline("UA", "United Airlines", ("ORD", "SFO", "DEN")),
    Airline("B6", "JetBlue", (), True, "NA"),
    Airline("AC", "Air Canada", ("YYZ", "YVR")),
    Airline("AM", "Aeromexico", ("MEX",)),
    Airline("AV", "Avianca", ("BOG",)),
    Airline("LA", "LATAM Airlines", ("GRU", "LIM")),
    Airline("AR", "Aerolineas Argentinas", ("EZE",)),
]

# Hubs with real long-haul networks: a long-haul route needs one of these at one end.
GLOBAL_HUBS = {"LHR", "CDG", "AMS", "FRA", "MUC", "MAD", "IST", "DXB", "DOH", "SIN", "HKG", "HND", "ICN",
               "JFK", "LAX", "SFO", "ORD", "ATL", "YYZ", "SYD", "GRU", "BKK", "DEL", "ZRH", "HEL"}
MAIN_BASES = {al.hubs[0] for al in AIRLINES if al.hubs}
MAX_RANGE_KM = 14500  # longer than this is not flown nonstop
# Routes the crew's default inputs and the tests rely on exist whatever the draw.
ALWAYS_FLOWN = {("LHR", "LIS"), ("LHR", "JFK"), ("CDG", "HND"), ("AMS", "BCN"), ("FRA", "SIN"), ("JFK", "LAX")}
HOTEL_BRANDS = ["Parkview", "Meridia", "Harbourlight", "Casa Serena", "The Linden", "Nordlys", "Aurelia",
                "Grand Vista", "Stay Urban", "Cedar House", "Hotel Solano", "The Foundry", "Atrium",
                "Bluebird Inn", "Palazzo Ricci", "Maison Claire", "Copper Key", "Ivy Lane", "Sable & Stone",
                "Lumen Suites"]
HOTEL_AREAS = ["Old Town", "City Centre", "Riverside", "Central Station", "Museum Quarter", "Harbour",
               "Business District", "University Quarter", "Airport", "Park District", "Market Square"]
STAR_BASE_USD = {2: 60, 3: 100, 4: 165, 5: 330}


def distance_km(a: Airport, b: Airport) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def carriers(a: Airport, b: Airport, km: float, rng: random.Random) -> list[Airline]:
    """Airlines that would plausibly fly a-b nonstop: the home carriers, and some budget ones on short hops."""
    found = [al for al in AIRLINES if not al.low_cost and (a.code in al.hubs or b.code in al.hubs)]
    if km < 3800:
        found += [al for al in AIRLINES if al.low_cost and al.region == a.region == b.region
                  and (a.code in al.hubs or b.code in al.hubs or rng.random() < 0.3)]
    return found


def aircraft(km: float, low_cost: bool) -> str:
    if km < 1200:
        return "A320neo" if not low_cost else "737-800"
    if km < 4500:
        return "A321neo" if not low_cost else "737 MAX 8"
    if km < 9000:
        return "787-9"
    return "A350-900" if km < 12500 else "777-300ER"


def block_minutes(km: float) -> int:
    # cruise ~830 km/h plus taxi, climb and approach; rounded to 5 minutes like published schedules
    return int(round((km / 830 * 60 + 35) / 5) * 5)


def choose_routes(rng: random.Random) -> list[tuple[Airport, Airport, float, list[Airline]]]:
    routes = []
    for i, a in enumerate(AIRPORTS):
        for b in AIRPORTS[i + 1:]:
            km = distance_km(a, b)
            lines = carriers(a, b, km, rng)
            if not lines or km > MAX_RANGE_KM:
                continue
            short = a.region == b.region and km < 3800
            # many short hops between cities with a home carrier exist; long-haul needs a global hub
            # at one end and an airline's main base (or another global hub) at the other
            hub_pair = bool({a.code, b.code} & GLOBAL_HUBS) and {a.code, b.code} <= GLOBAL_HUBS | MAIN_BASES
            keep = 0.35 if short else (0.3 if hub_pair else 0.0)
            if rng.random() < keep or (a.code, b.code) in ALWAYS_FLOWN or (b.code, a.code) in ALWAYS_FLOWN:
                routes.append((a, b, km, lines))
    return routes


def flights(rng: random.Random) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    numbers: dict[str, int] = {}
    for a, b, km, lines in choose_routes(rng):
        operators = rng.sample(lines, k=min(len(lines), 3))
        for airline in sorted(operators, key=lambda al: al.code):
            per_day = 1 if km > 4500 else rng.choice([1, 1, 2, 3])
            days = "1234567" if rng.random() < 0.75 else rng.choice(["12345", "1357", "2467", "123567"])
            fare_per_km = 0.06 if airline.low_cost else (0.085 if km < 4500 else 0.072)
            floor = 25 if airline.low_cost else 70
            for _ in range(per_day):
                numbers[airline.code] = numbers.get(airline.code, 100) + rng.randint(2, 40) * 2
                number = numbers[airline.code]
                minutes = block_minutes(km * rng.uniform(0.97, 1.05))
                base = (floor + km * fare_per_km) * rng.uniform(0.8, 1.2)
                for leg, (src, dst) in enumerate(((a, b), (b, a))):
                    depart = rng.randrange(6 * 60, 22 * 60 + 1, 5)
                    rows.append({
                        "flight_no": f"{airline.code}{number + leg}", "airline": airline.code,
                        "origin": src.code, "destination": dst.code,
                        "depart_local": f"{depart // 60:02d}:{depart % 60:02d}",
                        "duration_min": minutes, "days": days, "aircraft": aircraft(km, airline.low_cost),
                        "base_fare_usd": round(base * rng.uniform(0.95, 1.05)), "distance_km": round(km),
                    })
    return sorted(rows, key=lambda r: (r["origin"], r["destination"], r["depart_local"], r["flight_no"]))


def hotels(rng: random.Random) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for airport in AIRPORTS:
        brands = rng.sample(HOTEL_BRANDS, k=rng.randint(5, 8))
        for n, brand in enumerate(brands, 1):
            stars = rng.choice([2, 3, 3, 4, 4, 4, 5])
            area = rng.choice(HOTEL_AREAS)
            nightly = STAR_BASE_USD[stars] * airport.cost_index * rng.uniform(0.8, 1.25)
            rows.append({
                "hotel_id": f"{airport.code}-{n:02d}", "airport": airport.code, "city": airport.city,
                "name": f"{brand} {airport.city} {area}", "area": area, "stars": stars,
                "rating": round(min(9.7, max(6.2, 5.6 + stars * 0.7 + rng.uniform(-0.9, 0.9))), 1),
                "nightly_usd": round(nightly), "breakfast": rng.random() < 0.4,
            })
    return rows


def to_csv(rows: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def generate(seed: int = SEED) -> dict[str, str]:
    """File name -> CSV text. Every table draws from one seeded generator, in a fixed order."""
    rng = random.Random(seed)
    airports = [{"code": a.code, "city": a.city, "country": a.country, "region": a.region, "lat": a.lat,
                 "lon": a.lon, "utc_offset": a.utc_offset} for a in AIRPORTS]
    airlines = [{"code": al.code, "name": al.name, "hubs": " ".join(al.hubs), "low_cost": al.low_cost}
                for al in AIRLINES]
    return {"airports.csv": to_csv(airports), "airlines.csv": to_csv(airlines),
            "flights.csv": to_csv(flights(rng)), "hotels.csv": to_csv(hotels(rng))}


def write(out: Path, seed: int = SEED) -> dict[str, int]:
    """Write the dataset into ``out``; returns rows per file."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, text in generate(seed).items():
        (out / name).write_text(text, encoding="utf-8")
        counts[name] = text.count("\n") - 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder to write (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for name, rows in write(args.out, args.seed).items():
        print(f"{args.out / name}: {rows} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
