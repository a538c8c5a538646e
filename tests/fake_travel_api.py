"""A fake flight/hotel API on 127.0.0.1 (random port) speaking the contract in trip_planner's travel/web.py.

It answers from the bundled offline dataset, so what comes back over HTTP is realistic and
can be compared with the offline provider. Faults are queued and consumed one per request::

    with FakeTravelApi(api_key="k", faults=[503]) as api:
        env = {"TRAVEL_API_URL": api.url, "TRAVEL_API_KEY": "k"}
        ...
    api.requests  # one Request(path, query, authorization, status) per request

A fault is an HTTP status (401, 404, 429, 500, 503: JSON error body), ``"html"`` (a 502 from a
proxy with an HTML body), ``"not-json"`` (200 with a non-JSON body) or ``"wrong-shape"``
(200 with JSON lacking the expected list).
"""
from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from helpers import REPO

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # crews/ is a plain package: the travel modules import without rolecall

from crews.trip_planner.travel.offline import OfflineProvider  # noqa: E402
from crews.trip_planner.travel.provider import TravelError  # noqa: E402

DATA = REPO / "crews" / "trip_planner" / "data"


@dataclass
class Request:
    path: str
    query: dict[str, str]
    authorization: str | None
    status: int


@dataclass
class FakeTravelApi:
    api_key: str | None = None  # when set, requests without "Bearer <api_key>" get a 401
    faults: list[int | str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.offline = OfflineProvider(DATA)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeTravelApi:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                         name="fake-travel-api").start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- answering -------------------------------------------------------------
    def answer(self, path: str, query: dict[str, str], authorization: str | None) -> tuple[int, str, str]:
        """(status, content type, body) for one GET."""
        with self._lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            return _fault(fault)
        if self.api_key and authorization != f"Bearer {self.api_key}":
            return 401, "application/json", json.dumps({"error": "invalid or missing API key"})
        try:
            if path == "/v1/flights":
                found = self.offline.search_flights(query["origin"], query["destination"],
                                                    date.fromisoformat(query["date"]))
                return 200, "application/json", json.dumps({"flights": [f.to_dict() for f in found]})
            if path == "/v1/hotels":
                found = self.offline.search_hotels(query["city"], date.fromisoformat(query["check_in"]),
                                                   date.fromisoformat(query["check_out"]))
                return 200, "application/json", json.dumps({"hotels": [h.to_dict() for h in found]})
        except KeyError as exc:
            return 400, "application/json", json.dumps({"error": f"missing query parameter {exc}"})
        except (TravelError, ValueError) as exc:
            return 400, "application/json", json.dumps({"error": str(exc)})
        return 404, "application/json", json.dumps({"error": f"no such resource {path}"})


def _fault(fault: int | str) -> tuple[int, str, str]:
    if fault == "html":
        return 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"
    if fault == "not-json":
        return 200, "text/plain", "maintenance window, back at 04:00 UTC"
    if fault == "wrong-shape":
        return 200, "application/json", json.dumps({"results": []})
    messages = {401: "invalid or missing API key", 404: "not found", 429: "rate limit exceeded, retry in 30 s",
                500: "internal error", 503: "fare engine is temporarily unavailable"}
    return int(fault), "application/json", json.dumps({"error": messages.get(int(fault), "error")})


def _handler_for(api: FakeTravelApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            authorization = self.headers.get("Authorization")
            status, kind, body = api.answer(parts.path, query, authorization)
            api.requests.append(Request(parts.path, query, authorization, status))
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

    return Handler
