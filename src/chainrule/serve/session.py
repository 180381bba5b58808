"""One browser tab's training: a model trained by cr.fit in its own thread, under control.

The page plays, pauses, steps and resets; the training thread waits between steps while
paused, keeps to the speed limit (steps per second), and publishes a View at most
VIEWS_PER_SECOND times a second. Ending a session stops its thread.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time

from ..atomic import atomic_write_bytes
from ..data.errors import DataError
from ..train.callbacks import Callback, GradientMonitor
from .problem import Problem
from .settings import Settings, SettingsError
from .turns import ENGINE
from .views import losses, take_view

__all__ = ["Session"]

VIEWS_PER_SECOND = 25


class _Stopped(Exception):
    """Raised inside fit to end the training thread (reset or end of the session)."""


class Session:
    settings: Settings  # set by _start, with problem
    problem: Problem

    def __init__(self, settings: Settings):
        self.id = secrets.token_urlsafe(12)
        self.last_seen = time.monotonic()
        self._changed = threading.Condition()
        self._thread = None
        self.ended = False
        self._version = 0
        self._csv_path: str | None = None
        self._upload_dir: str | None = None
        self._start(settings, Problem(settings))

    # --- what the page asks --------------------------------------------------------------
    def play(self):
        with self._changed:
            self._playing = True
            self._ensure_thread()
            self._changed.notify_all()

    def pause(self):
        with self._changed:
            self._playing = False
            self._changed.notify_all()

    def step(self):
        """One more gradient-descent step, then hold."""
        with self._changed:
            self._playing = False
            self._steps_allowed += 1
            self._ensure_thread()
            self._changed.notify_all()

    def set_speed(self, speed: int | None):
        """At most `speed` steps per second from now on (checked like every setting)."""
        if speed is None:
            raise SettingsError("speed: give ?speed=N, the steps per second")
        with self._changed:
            self.settings = self.settings.with_changes(speed=speed)
            self._next_step_at = time.monotonic()
            self._changed.notify_all()

    def reset(self, settings: Settings | None = None):
        """Fresh weights (and data, with new settings); training paused. Bad settings raise
        before anything changes."""
        settings = settings or self.settings
        problem = Problem(settings, self._csv_path)
        self._stop_thread()
        self._start(settings, problem)

    def use_csv(self, text: bytes, columns: str, target: str):
        """Train on this CSV file (two feature columns, a label column with two classes).
        Errors name the row and column; the session is unchanged by a bad file."""
        if self._upload_dir is None:
            self._upload_dir = tempfile.mkdtemp(prefix="chainrule-serve-")
        path = os.path.join(self._upload_dir, "upload.csv")
        atomic_write_bytes(path + ".new", text)
        settings = self.settings.with_changes(dataset="csv", columns=columns, target=target)
        try:
            problem = Problem(settings, path + ".new")
        except DataError as error:  # name the upload, not the server's temporary folder
            raise SettingsError(str(error).replace(path + ".new", "the CSV file")) from None
        os.replace(path + ".new", path)
        self._csv_path = path
        self._stop_thread()
        self._start(settings, problem)

    def end(self):
        self.ended = True
        self._stop_thread()
        if self._upload_dir is not None:
            shutil.rmtree(self._upload_dir, ignore_errors=True)

    @property
    def playing(self) -> bool:
        return self._playing

    def wait_for_view(self, version: int, timeout: float):
        """The latest View once its version differs from `version` (or the same at timeout)."""
        with self._changed:
            self._changed.wait_for(lambda: self.view["version"] != version or self.ended, timeout)
            return self.view

    # --- the training thread --------------------------------------------------------------
    def _start(self, settings: Settings, problem: Problem):
        self.settings, self.problem = settings, problem
        with ENGINE:  # build_model seeds the engine's generator
            self.model, self.loss_fn, self.optimizer, self.scheduler = self.problem.build_model()
        self._playing, self._steps_allowed, self._stopping = False, 0, False
        self._curve: list[tuple] = []  # (epoch, train loss, test loss) per epoch
        self._next_step_at, self._last_view_at = 0.0, 0.0
        self.monitor = GradientMonitor(warn=False)
        self.error = None
        self._publish(step=0)

    def _ensure_thread(self):
        if self._thread is None and not self.ended:
            self._thread = threading.Thread(
                target=self._train, name=f"session-{self.id}", daemon=True
            )
            self._thread.start()

    def _stop_thread(self):
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _train(self):
        import chainrule as cr

        s, problem = self.settings, self.problem
        try:
            cr.fit(
                self.model,
                self.loss_fn,
                self.optimizer,
                problem.X_train,
                problem.data.y_train,
                epochs=s.epochs,
                batch_size=s.batch_size or None,
                callbacks=[self.monitor, _Feed(self)],
                scheduler=self.scheduler,
                l2=s.l2,
                seed=s.seed,
                verbose=0,
                compile=False,
            )
            self._finish(None)
        except _Stopped:
            pass
        except Exception as error:
            while ENGINE.held():  # the step that failed had its turn
                ENGINE.release()
            self._finish(f"{type(error).__name__}: {error}")

    def _finish(self, error):
        with self._changed:
            self.error = error
            self._playing = False
        self._publish(self.view["step"], done=True)

    def _wait_turn(self, step: int):
        """Block until the next step may run: playing (at the speed limit) or stepping.
        Before training holds, the page is shown the latest step, paused."""
        with self._changed:
            while True:
                shown = self.view
                if not self._playing and (shown["step"] != step or shown["playing"]):
                    self._publish(step)
                if self._stopping:
                    raise _Stopped
                if self._steps_allowed:
                    self._steps_allowed -= 1
                    return
                wait = self._next_step_at - time.monotonic()
                if self._playing and wait <= 0:
                    self._next_step_at = time.monotonic() + 1.0 / self.settings.speed
                    return
                self._changed.wait(wait if self._playing else None)

    def _publish(self, step: int, done: bool = False):
        grad_norms = {name: series[-1] for name, series in self.monitor.record["grad_norm"].items()}
        progress = {
            "epoch": len(self._curve),
            "step": step,
            "playing": self._playing,
            "lr": self.optimizer.param_groups[0]["lr"],
            "done": done,
            "error": self.error,
        }
        with ENGINE:
            view = take_view(
                self.model,
                self.problem,
                self.loss_fn,
                progress,
                self._curve,
                grad_norms,
                self.monitor.record["warnings"],
            )
        with self._changed:
            self._version += 1
            view["version"] = self._version
            self.view = view
            self._last_view_at = time.monotonic()
            self._changed.notify_all()


class _Feed(Callback):
    """Paces fit by the session's controls and publishes what the page shows."""

    order = 50  # after GradientMonitor's epoch record

    def __init__(self, session: Session):
        self.session = session

    def on_batch_begin(self, state):
        self.session._wait_turn(state.step)
        ENGINE.acquire()  # released when the step is done (or in _train if it fails)

    def on_batch_end(self, state):
        ENGINE.release()
        session = self.session
        if (
            time.monotonic() - session._last_view_at >= 1.0 / VIEWS_PER_SECOND
            or not session.playing
        ):
            session._publish(state.step)

    def on_epoch_end(self, state):
        session = self.session
        with ENGINE:
            point = (state.epoch + 1, *losses(session.model, session.problem, session.loss_fn))
        session._curve.append(point)
