"""The server's sessions: at most MAX_SESSIONS, each ended when its tab stops listening."""

from __future__ import annotations

import threading
import time

from .session import Session
from .settings import Settings

__all__ = ["MAX_SESSIONS", "SessionLimitError", "Sessions", "UnknownSessionError"]

MAX_SESSIONS = 8
# A session whose page has had no open stream for this long is ended (the tab went away
# without saying goodbye, e.g. the browser was killed).
IDLE_SECONDS = 20.0


class SessionLimitError(RuntimeError):
    """Too many sessions at once (the server answers 503)."""


class UnknownSessionError(KeyError):
    """No such session (the server answers 404)."""


class Sessions:
    def __init__(self, max_sessions: int = MAX_SESSIONS, idle_seconds: float = IDLE_SECONDS):
        self.max_sessions, self.idle_seconds = max_sessions, idle_seconds
        self._sessions: dict[str, Session] = {}
        self._listening: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._sessions)

    def create(self, settings: Settings) -> Session:
        self.end_idle()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise SessionLimitError(
                    f"the server holds {self.max_sessions} sessions "
                    "already; close a tab and try again"
                )
        session = Session(settings)
        with self._lock:
            self._sessions[session.id] = session
            self._listening[session.id] = 0
        return session

    def get(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise UnknownSessionError(
                f"no session {session_id!r} (it ended, or the server restarted): reload the page"
            )
        session.last_seen = time.monotonic()
        return session

    def end(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
            self._listening.pop(session_id, None)
        if session is not None:
            session.end()

    def end_all(self) -> None:
        for session_id in list(self._sessions):
            self.end(session_id)

    def listening(self, session_id: str, change: int) -> None:
        """A stream to the page opened (+1) or closed (−1); the last close ends the session."""
        with self._lock:
            if session_id not in self._listening:
                return
            self._listening[session_id] += change
            left = self._listening[session_id]
        if left == 0 and change < 0:
            self.end(session_id)

    def end_idle(self) -> None:
        """End sessions that have had no stream for idle_seconds (their tab is gone)."""
        now = time.monotonic()
        idle = [
            sid
            for sid, session in list(self._sessions.items())
            if self._listening.get(sid) == 0 and now - session.last_seen > self.idle_seconds
        ]
        for session_id in idle:
            self.end(session_id)
