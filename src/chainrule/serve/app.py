"""The HTTP server: the page and its assets, a JSON API per session, a server-sent events stream.

Standard library only (ThreadingHTTPServer: one thread per request, so each open stream holds
a thread). Every request's failure is answered, never raised: 400 for bad settings or
parameters, 404 for unknown paths and sessions, 503 when the session limit is reached.

    POST /api/sessions?SETTINGS                  a new session (201): id, points, settings
    GET  /api/sessions/ID/stream                 text/event-stream of views (JSON)
    POST /api/sessions/ID/(play|pause|step)
    POST /api/sessions/ID/speed?speed=N          steps per second, training goes on
    POST /api/sessions/ID/csv?columns=A,B&target=T   body: a CSV file to train on
    POST /api/sessions/ID/reset[?SETTINGS]       fresh weights, and new settings if given
    GET  /api/sessions/ID/backprop?part=train&index=I    chainrule explain on that point
    GET  /api/sessions/ID/model.safetensors      the model, as `chainrule train` saves it
    POST /api/sessions/ID/end                    the page's goodbye (navigator.sendBeacon)
"""

from __future__ import annotations

import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

from .. import __version__
from .backprop import backprop_step
from .saving import model_file
from .sessions import SessionLimitError, Sessions, UnknownSessionError
from .settings import LIMITS, Settings, SettingsError

__all__ = ["Server", "make_server"]

MAX_URL = 4096
MAX_UPLOAD = 1 << 20  # bytes of CSV
HEARTBEAT_SECONDS = 5.0
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
SESSION_PATH = re.compile(r"^/api/sessions/([A-Za-z0-9_-]{1,64})/([a-z.]+)$")


class RequestError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, sessions: Sessions | None = None):
        self.sessions = Sessions() if sessions is None else sessions
        self._sweeping = threading.Event()
        super().__init__(address, Handler)  # on failure (port in use) calls server_close
        threading.Thread(target=self._sweep, name="session-sweeper", daemon=True).start()

    def _sweep(self):
        while not self._sweeping.wait(5.0):
            self.sessions.end_idle()

    def server_close(self):
        self._sweeping.set()
        self.sessions.end_all()
        super().server_close()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # an IP address: str, never bytes
        return f"http://{host}:{port}/"


def make_server(host: str = "127.0.0.1", port: int = 8000, **kwargs) -> Server:
    return Server((host, port), **kwargs)


def _static(name: str) -> tuple[bytes, str]:
    suffix = name[name.rfind(".") :] if "." in name else ""
    files = resources.files(__package__) / "static"
    if suffix not in STATIC_TYPES or "/" in name or name.startswith("."):
        raise RequestError(HTTPStatus.NOT_FOUND, f"no such file: {name}")
    path = files / name
    if not path.is_file():
        raise RequestError(HTTPStatus.NOT_FOUND, f"no such file: {name}")
    return path.read_bytes(), STATIC_TYPES[suffix]


class Handler(BaseHTTPRequestHandler):
    server: Server  # the server that handles the request (BaseServer to the base class)
    server_version = f"chainrule/{__version__}"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the page polls nothing, streams a lot
        pass

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def _answer(self, method: str):
        try:
            self.body = self._read_body()
            if len(self.path) > MAX_URL:
                raise RequestError(
                    HTTPStatus.REQUEST_URI_TOO_LONG,
                    f"the address is longer than {MAX_URL} characters",
                )
            url = urlsplit(self.path)
            self._route(method, url.path, _query(url.query))
        except RequestError as error:
            self._send_json({"error": str(error)}, error.status)
        except SettingsError as error:
            self._send_json({"error": str(error)}, HTTPStatus.BAD_REQUEST)
        except UnknownSessionError as error:
            self._send_json({"error": error.args[0]}, HTTPStatus.NOT_FOUND)
        except SessionLimitError as error:
            self._send_json({"error": str(error)}, HTTPStatus.SERVICE_UNAVAILABLE)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:
            self._send_json(
                {"error": f"{type(error).__name__}: {error}"}, HTTPStatus.INTERNAL_SERVER_ERROR
            )

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise RequestError(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if length > MAX_UPLOAD:
            self.close_connection = True  # the body is left unread
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the request body has {length} bytes; at most {MAX_UPLOAD} "
                "are accepted (a CSV of the page's size is far smaller)",
            )
        return self.rfile.read(length) if length > 0 else b""

    def _route(self, method: str, path: str, query: dict):
        if method == "GET" and path in ("/", "/index.html"):
            return self._send(*_static("index.html"))
        if method == "GET" and path.startswith("/static/"):
            return self._send(*_static(path[len("/static/") :]))
        if method == "POST" and path == "/api/sessions":
            session = self.server.sessions.create(Settings.from_query(query))
            return self._send_json(_welcome(session), HTTPStatus.CREATED)
        match = SESSION_PATH.match(path)
        if match is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such page: {path}")
        self._session_action(method, match.group(2), match.group(1), query)

    def _session_action(self, method: str, action: str, session_id: str, query: dict):
        sessions = self.server.sessions
        session = sessions.get(session_id)
        if method == "POST" and action == "end":
            sessions.end(session_id)
            return self._send_json({"ended": session_id})
        if method == "POST" and action in ("play", "pause", "step"):
            getattr(session, action)()
            return self._send_json({"playing": session.playing})
        if method == "POST" and action == "speed":
            session.set_speed(Settings.from_query(query).speed if "speed" in query else None)
            return self._send_json({"settings": session.settings.to_query()})
        if method == "POST" and action == "csv":
            if not self.body:
                raise RequestError(HTTPStatus.BAD_REQUEST, "send the CSV file as the body")
            session.use_csv(self.body, query.get("columns", ""), query.get("target", ""))
            return self._send_json(_welcome(session))
        if method == "POST" and action == "reset":
            session.reset(Settings.from_query(query) if query else None)
            return self._send_json(_welcome(session))
        if method == "GET" and action == "stream":
            return self._stream(session)
        if method == "GET" and action == "backprop":
            return self._send_json(
                backprop_step(session, query.get("part", "train"), _index(query))
            )
        if method == "GET" and action == "model.safetensors":
            return self._send(
                model_file(session),
                "application/octet-stream",
                {"Content-Disposition": 'attachment; filename="model.safetensors"'},
            )
        raise RequestError(HTTPStatus.NOT_FOUND, f"no action {method} {action!r}")

    def _stream(self, session):
        """Views as server-sent events, until the page or the session goes away."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sessions, version = self.server.sessions, None
        sessions.listening(session.id, +1)
        try:
            while not session.ended:
                view = session.wait_for_view(version, HEARTBEAT_SECONDS)
                if view["version"] == version:
                    self.wfile.write(b": still here\n\n")
                else:
                    version = view["version"]
                    self.wfile.write(b"data: " + json.dumps(view).encode() + b"\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            sessions.listening(session.id, -1)

    def _send(
        self,
        body: bytes,
        content_type: str,
        headers: dict | None = None,
        status: HTTPStatus = HTTPStatus.OK,
    ):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, value, status: HTTPStatus = HTTPStatus.OK):
        self._send(json.dumps(value).encode(), "application/json", status=status)


def _query(text: str) -> dict:
    pairs = parse_qsl(text, keep_blank_values=True)
    names = [name for name, _ in pairs]
    repeated = {name for name in names if names.count(name) > 1}
    if repeated:
        raise RequestError(
            HTTPStatus.BAD_REQUEST, f"parameter {min(repeated)!r} given more than once"
        )
    return dict(pairs)


def _index(query: dict) -> int:
    try:
        return int(query.get("index", ""))
    except ValueError:
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"index must be an integer (the point number), got {query.get('index')!r}",
        ) from None


def _welcome(session) -> dict:
    """What the page needs to draw a (new or reset) session."""
    return {
        "session": session.id,
        "settings": session.settings.to_query(),
        "points": session.problem.points(),
        "limits": LIMITS,
    }
