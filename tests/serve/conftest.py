"""A live server on a free port of 127.0.0.1, and small HTTP helpers for the tests."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from chainrule.serve import Sessions, make_server


@pytest.fixture
def server():
    server = make_server("127.0.0.1", 0, sessions=Sessions(max_sessions=3))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


class Client:
    """Requests to the server under test."""

    def __init__(self, server):
        self.server = server

    def request(self, method: str, path: str, raw: bool = False):
        return _request(self.server, method, path, raw)

    def new_session(self, query: str = "") -> dict:
        status, body = self.request("POST", "/api/sessions" + (f"?{query}" if query else ""))
        assert status == 201, body
        return body


@pytest.fixture
def api(server):
    return Client(server)


def _request(server, method: str, path: str, raw: bool = False):
    """(status, JSON body) of one request (raw bytes instead of JSON when raw=True)."""
    req = urllib.request.Request(server.url.rstrip("/") + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, (body if raw else json.loads(body))
