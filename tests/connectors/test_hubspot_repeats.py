"""A HubSpot that repeats its paging cursor stops the stream with a StreamError naming it.

The sandbox pages correctly, so a tiny local HTTP server plays a HubSpot that hands out
the same ``after`` cursor twice; the connector under test is the real one, SDK included.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from hubspot_support import HUBSPOT_SPEC, VirtualTime, collect, full_window

from milestones.connectors.base import StreamError
from milestones.connectors.hubspot.connector import HubSpotConnector
from milestones.connectors.hubspot.settings import HubSpotSettings

Answer = Callable[[str, str, dict[str, Any]], dict[str, Any]]


class RepeatingHubSpot:
    """Answers every request with ``answer(method, path, body)`` as JSON; logs the paths."""

    def __init__(self, answer: Answer) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = urlsplit(self.path).path
                outer.requests.append(f"{self.command} {path}")
                data = json.dumps(answer(self.command, path, body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RepeatingHubSpot:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def connector(server: RepeatingHubSpot) -> HubSpotConnector:
    settings = HubSpotSettings(access_token="pat-test-0000", base_url=server.url)
    time = VirtualTime()
    return HubSpotConnector(settings, HUBSPOT_SPEC, sleep=time.sleep, clock=time.clock)


@pytest.fixture
def contacts_repeating_after() -> Iterator[RepeatingHubSpot]:
    def answer(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert (method, path) == ("GET", "/crm/objects/2026-09/contacts")
        record = {"id": "101", "properties": {"hs_object_id": "101"}}
        return {"results": [record], "paging": {"next": {"after": "CURSOR-7"}}}

    with RepeatingHubSpot(answer) as server:
        yield server


def test_a_list_cursor_that_comes_twice_stops_the_stream(
    contacts_repeating_after: RepeatingHubSpot,
) -> None:
    hubspot = connector(contacts_repeating_after)
    with pytest.raises(StreamError, match="after='CURSOR-7' came twice") as stopped:
        collect(hubspot.pull("contacts", full_window()))
    assert stopped.value.url == f"{contacts_repeating_after.url}/crm/objects/2026-09/contacts"
    assert contacts_repeating_after.requests == ["GET /crm/objects/2026-09/contacts"] * 2


@pytest.fixture
def associations_repeating_after() -> Iterator[RepeatingHubSpot]:
    def answer(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/crm/pipelines/2026-09/deals":
            return {"results": []}
        if path == "/crm/objects/2026-09/deals":
            return {"results": [{"id": "901", "properties": {"dealstage": "open"}}]}
        assert path == "/crm/associations/2026-09/deals/contacts/batch/read"
        to = [{"toObjectId": 101, "associationTypes": []}]
        page = {"next": {"after": "ASSOC-3"}}
        return {"results": [{"from": {"id": "901"}, "to": to, "paging": page}]}

    with RepeatingHubSpot(answer) as server:
        yield server


def test_an_association_cursor_that_comes_twice_stops_the_stream(
    associations_repeating_after: RepeatingHubSpot,
) -> None:
    hubspot = connector(associations_repeating_after)
    with pytest.raises(StreamError, match="after='ASSOC-3' for deals 901 came twice"):
        collect(hubspot.pull("deals", full_window()))
    reads = [r for r in associations_repeating_after.requests if "associations" in r]
    assert reads == ["POST /crm/associations/2026-09/deals/contacts/batch/read"] * 2
