"""A live server on a free port of 127.0.0.1, and small HTTP helpers for the tests."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request

import pytest

from chainrule.serve import Sessions, make_server


@contextlib.contextmanager
def running_server(max_sessions):
    """A server on a free port of 127.0.0.1, serving from a thread while the block runs."""
    server = make_server("127.0.0.1", 0, sessions=Sessions(max_sessions=max_sessions))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def server():
    with running_server(max_sessions=3) as server:
        yield server


@pytest.fixture
def serve_with():
    """running_server, for a test module that wants a server of its own size."""
    return running_server


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
