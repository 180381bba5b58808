"""A session's life: play, pause, step, reset, speed, end; the sessions' bounds."""

import threading
import time

import numpy as np
import pytest

from chainrule.serve import Session, Sessions, Settings, SettingsError
from chainrule.serve.sessions import SessionLimitError, UnknownSessionError

QUICK = Settings(points=100, hidden=(4,), speed=200)


def wait_until(condition, timeout=20.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


@pytest.fixture
def session():
    session = Session(QUICK)
    yield session
    session.end()


def test_a_new_session_is_paused_at_step_zero(session):
    time.sleep(0.2)
    assert session.view["step"] == 0 and session.view["epoch"] == 0
    assert not session.playing and session.view["train_loss"] > 0


def test_play_trains_and_the_loss_falls(session):
    first = session.view["train_loss"]
    session.play()
    wait_until(lambda: session.view["epoch"] >= 10)
    session.pause()
    assert session.view["train_loss"] < first
    assert all(np.isfinite(norm) and norm > 0 for norm in session.view["grad_norms"].values())
    assert set(session.view["grad_norms"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_pause_holds_and_step_takes_exactly_one_step(session):
    session.play()
    wait_until(lambda: session.view["step"] >= 5)
    session.pause()
    time.sleep(0.1)  # a step under way when pause came finishes
    held = session.view["step"]
    time.sleep(0.3)
    assert session.view["step"] == held
    session.step()
    wait_until(lambda: session.view["step"] == held + 1)
    time.sleep(0.3)
    assert session.view["step"] == held + 1


def test_the_speed_limits_the_steps_per_second():
    session = Session(QUICK.with_changes(speed=20))
    try:
        session.play()
        time.sleep(1.0)
        session.pause()
        assert 5 <= session.view["step"] <= 22
        with pytest.raises(SettingsError, match="'speed'"):
            session.set_speed(0)
    finally:
        session.end()


def test_reset_restarts_from_the_same_weights_and_applies_new_settings(session):
    start = session.view["heat"]
    session.play()
    wait_until(lambda: session.view["step"] >= 20)
    session.reset()
    assert session.view["step"] == 0 and session.view["heat"] == start
    assert not session.playing
    session.reset(QUICK.with_changes(dataset="xor", hidden=(2, 3)))
    assert session.problem.data.name == "xor"
    assert [len(layer) for layer in session.view["neurons"]] == [2, 3]


def test_end_stops_the_training_thread(session):
    session.play()
    wait_until(lambda: session.view["step"] >= 2)
    thread = session._thread
    session.end()
    assert not thread.is_alive() and session.ended
    session.play()  # an ended session starts nothing
    assert session._thread is None


def test_a_failing_run_shows_its_error_and_stops(session):
    session.loss_fn = lambda output, target: output.sum() * float("nan")  # a NaN loss
    session.play()
    wait_until(lambda: session.view["done"])
    assert session.view["error"].startswith("DivergenceError") and not session.playing
    session._thread.join(5)
    assert not session._thread.is_alive()


def test_training_stops_after_the_epochs_asked_for():
    session = Session(QUICK.with_changes(epochs=3, batch_size=0))
    try:
        session.play()
        wait_until(lambda: session.view["done"])
        assert session.view["epoch"] == 3 and session.view["error"] is None
    finally:
        session.end()


def test_sessions_are_bounded_and_end_when_their_last_stream_closes():
    sessions = Sessions(max_sessions=2)
    first, second = sessions.create(QUICK), sessions.create(QUICK)
    try:
        with pytest.raises(SessionLimitError, match="2 sessions"):
            sessions.create(QUICK)
        sessions.listening(first.id, +1)
        sessions.listening(first.id, -1)
        assert first.ended and len(sessions) == 1
        with pytest.raises(UnknownSessionError, match="reload the page"):
            sessions.get(first.id)
    finally:
        sessions.end_all()
    assert second.ended and len(sessions) == 0


def test_a_session_whose_tab_never_listens_is_ended_when_idle():
    sessions = Sessions(idle_seconds=0.2)
    session = sessions.create(QUICK)
    sessions.end_idle()
    assert not session.ended  # not idle long enough yet
    time.sleep(0.3)
    sessions.end_idle()
    assert session.ended and len(sessions) == 0


def test_sessions_training_at_once_all_train():
    """The engine's grad mode is process-wide: one session's view (under no_grad) must not
    switch off another's training graph, and no session may starve the others."""
    sessions = [Session(QUICK) for _ in range(3)]
    try:
        for session in sessions:
            session.play()
        wait_until(lambda: all(s.view["step"] >= 40 for s in sessions))
        assert all(s.view["error"] is None and not s.view["done"] for s in sessions)
    finally:
        for session in sessions:
            session.end()


def test_the_engine_turn_is_first_come_first_served():
    from chainrule.serve.turns import FairLock

    lock, order, started = FairLock(), [], []
    lock.acquire()

    def ask(name):
        started.append(name)
        with lock:
            order.append(name)

    threads = []
    for name in "abc":
        threads.append(threading.Thread(target=ask, args=(name,)))
        threads[-1].start()
        wait_until(lambda: len(lock._waiting) == len(threads))
    lock.release()
    for thread in threads:
        thread.join()
    assert order == ["a", "b", "c"]
    with pytest.raises(RuntimeError, match="does not hold it"):
        lock.release()


def test_the_regression_curve_trains_and_draws_its_fit():
    session = Session(Settings(dataset="curve", hidden=(6,), points=120, batch_size=0,
                               optimizer="adam", lr=0.05, speed=200))
    try:
        first = session.view["train_loss"]
        assert session.view["heat"] is None and len(session.view["fit"]) == 40 * 40
        assert [len(layer[0]) for layer in session.view["neurons"]] == [16 * 16]
        session.play()
        wait_until(lambda: session.view["epoch"] >= 50)
        session.pause()
        assert session.view["train_loss"] < first / 3
        points = session.problem.points()
        assert points["task"] == "regression" and len(points["train"][0]) == 2
        np.testing.assert_allclose([p[1] for p in points["train"]],
                                   session.problem.data.y_train, atol=1e-4)
    finally:
        session.end()


def test_gradient_monitor_warnings_reach_the_page_not_the_console(recwarn):
    session = Session(QUICK.with_changes(hidden=(8,) * 6, activation="sigmoid"))
    try:
        session.play()
        wait_until(lambda: session.view["warnings"])
    finally:
        session.end()
    assert session.view["warnings"][0].startswith("vanishing gradient in '0.weight'")
    assert not [w for w in recwarn if "vanishing" in str(w.message)]


def test_the_squared_error_loss_trains_and_its_backprop_panel_is_explains():
    import chainrule as cr
    from chainrule.explain import explain, to_dict
    from chainrule.serve.backprop import _linear_params, backprop_step

    session = Session(QUICK.with_changes(loss="squared_error"))
    try:
        first = session.view["train_loss"]
        problem = session.problem
        logits = cr.tensor(cr.predict(session.model, problem.X_train))
        probs = cr.nn.functional.softmax(logits, dim=1).data
        onehot = np.eye(len(problem.data.classes))[problem.data.y_train]
        assert first == pytest.approx(float(((probs - onehot) ** 2).mean()), rel=1e-5)
        session.play()
        wait_until(lambda: session.view["epoch"] >= 10)
        session.pause()
        assert session.view["train_loss"] < first
        time.sleep(0.2)  # the step in flight ends
        answer = backprop_step(session, "train", 2)
        params = _linear_params(session.view.state, 2)  # the weights the panel shows
        expected = explain(sizes=problem.sizes, activation="tanh", output="softmax", loss="mse",
                           X=problem.X_train[2:3], y=onehot[2:3], examples=[0],
                           lr=QUICK.lr, params=params, seed=None)
        assert answer["trace"]["all_checks_passed"]
        assert answer["trace"] == to_dict(expected)
    finally:
        session.end()


def test_cross_entropy_on_the_regression_curve_is_refused():
    with pytest.raises(SettingsError, match="cross_entropy.*regression"):
        Session(QUICK.with_changes(dataset="curve", loss="cross_entropy"))
    assert Settings.from_query({"loss": "squared_error"}).to_query().count("loss=squared_error")
