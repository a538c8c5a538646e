"""A travel provider backed by an HTTP API, for live fares instead of the bundled dataset.

The API contract (JSON over HTTPS; a gateway in front of a vendor such as Amadeus or Duffel
can expose it with a thin adapter):

    GET {TRAVEL_API_URL}/flights?origin=LHR&destination=LIS&date=2027-04-16
        -> {"flights": [{"flight_no", "airline", "origin", "destination", "depart", "arrive",
                         "duration_min", "price_usd", "stops"?, "via"?, "aircraft"?}, ...]}
    GET {TRAVEL_API_URL}/hotels?city=Lisbon&check_in=2027-04-16&check_out=2027-04-19
        -> {"hotels": [{"name", "city", "area", "stars", "rating", "nights", "nightly_usd",
                        "total_usd", "breakfast"?}, ...]}

``Authorization: Bearer $TRAVEL_API_KEY`` is sent when a key is set. Any failure (refused
connection, timeout, an HTTP error status, a body that is not that JSON) becomes a
``TravelError`` that names the URL and the cause, and never the key. Stdlib only.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import fields
from datetime import date
from typing import Any, TypeVar

from .provider import Flight, Hotel, TravelError

T = TypeVar("T", Flight, Hotel)
MAX_ERROR_CHARS = 300


class HttpProvider:
    name = "http"

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def search_flights(self, origin: str, destination: str, day: date) -> list[Flight]:
        url, body = self._get("flights", {"origin": origin, "destination": destination, "date": day.isoformat()})
        found = _records(body, "flights", Flight, url)
        return sorted(found, key=lambda f: (f.price_usd, f.depart))

    def search_hotels(self, city: str, check_in: date, check_out: date) -> list[Hotel]:
        url, body = self._get("hotels", {"city": city, "check_in": check_in.isoformat(),
                                         "check_out": check_out.isoformat()})
        found = _records(body, "hotels", Hotel, url)
        return sorted(found, key=lambda h: (h.total_usd, -h.rating))

    def _get(self, resource: str, query: dict[str, str]) -> tuple[str, Any]:
        """(the URL asked, its decoded JSON body)."""
        url = f"{self.base_url}/{resource}?{urllib.parse.urlencode(query)}"
        headers = {"Accept": "application/json", "User-Agent": "rolecall-trip-planner"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise TravelError(f"travel API error: GET {url} answered HTTP {exc.code} {exc.reason}: "
                              f"{_error_detail(exc)}", retryable=exc.code >= 500 or exc.code == 429) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TravelError(f"travel API unreachable: GET {url} failed ({reason}); check TRAVEL_API_URL, "
                              f"or unset it to use the offline dataset", retryable=True) from None
        try:
            return url, json.loads(raw)
        except ValueError:
            raise TravelError(f"travel API error: GET {url} did not return JSON: "
                              f"{raw[:MAX_ERROR_CHARS].decode('utf-8', 'replace')!r}") from None


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """The API's own explanation: its JSON "error"/"message", else the start of the body."""
    try:
        text = exc.read().decode("utf-8", "replace")
    except OSError:
        return "(no body)"
    try:
        body = json.loads(text)
    except ValueError:
        return text[:MAX_ERROR_CHARS].strip() or "(empty body)"
    if isinstance(body, dict):
        detail = body.get("error") or body.get("message") or body
        if isinstance(detail, dict):
            detail = detail.get("message") or json.dumps(detail)
        return str(detail)[:MAX_ERROR_CHARS]
    return text[:MAX_ERROR_CHARS]


def _records(body: Any, key: str, kind: type[T], url: str) -> list[T]:
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise TravelError(f"travel API error: GET {url} returned JSON without a '{key}' list")
    names = {f.name for f in fields(kind)}
    out = []
    for i, item in enumerate(items):
        try:
            out.append(kind(**{k: v for k, v in item.items() if k in names}))
        except (TypeError, AttributeError) as exc:
            raise TravelError(f"travel API error: GET {url} item {i} of '{key}' is malformed ({exc})") from None
    return out
