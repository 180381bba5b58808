"""The server over HTTP: the page, the stream, the controls, saving, and bad requests."""

import http.client
import io
import json
import re
import time
from importlib import resources
from urllib.parse import urlsplit

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.trained import TrainedModel
from chainrule.explain import explain, to_dict

QUICK = "points=100&hidden=4&speed=200"


def session_of(server, body):
    return server.sessions.get(body["session"])


def wait_until(condition, timeout=20.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_the_page_and_its_assets_are_served_with_nothing_from_elsewhere(server, api):
    status, page = api.request("GET", "/", raw=True)
    assert status == 200
    for element in ("dataset", "play", "step", "reset", "epoch", "train-loss", "test-loss"):
        assert f'id="{element}"' in page.decode()
    static = resources.files("chainrule.serve") / "static"
    for name in ("index.html", "app.js", "style.css"):
        status, body = api.request("GET", f"/static/{name}", raw=True)
        assert status == 200 and body == (static / name).read_bytes()
        assert not re.search(rb"(https?:)?//[a-z0-9]", body.replace(b"://", b"")), name
        assert b"http" not in body, name


def test_a_session_gets_its_points_and_settings(server, api):
    body = api.new_session("dataset=circles&points=120&test_ratio=0.25&hidden=3,2")
    points = body["points"]
    assert len(points["train"]) == 90 and len(points["test"]) == 30
    assert set(points["train_labels"]) == {0, 1}
    assert "dataset=circles" in body["settings"] and "hidden=3%2C2" in body["settings"]


def read_events(server, session_id, seconds):
    """The views the stream sends within `seconds` (parsed)."""
    host, port = urlsplit(server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", f"/api/sessions/{session_id}/stream")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    views, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        line = response.fp.readline()
        if line.startswith(b"data: "):
            views.append(json.loads(line[len(b"data: "):]))
    connection.close()
    return views


def test_the_stream_sends_at_least_ten_updates_a_second_while_training(server, api):
    body = api.new_session(QUICK)
    api.request("POST", f"/api/sessions/{body['session']}/play")
    views = read_events(server, body["session"], seconds=2.0)
    assert len(views) >= 20
    steps = [view["step"] for view in views]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    assert views[-1]["train_loss"] < views[0]["train_loss"]
    assert views[-1]["heat"] != views[0]["heat"]
    assert len(views[-1]["heat"]) == views[-1]["heat"].count(0) + sum(
        1 for p in views[-1]["heat"] if 0 < p <= 100)


def test_closing_the_stream_ends_the_session(server, api):
    body = api.new_session(QUICK)
    read_events(server, body["session"], seconds=0.3)
    wait_until(lambda: len(server.sessions) == 0)
    status, answer = api.request("POST", f"/api/sessions/{body['session']}/play")
    assert status == 404 and "reload the page" in answer["error"]


def test_two_sessions_train_independently(server, api):
    first, second = api.new_session(QUICK), api.new_session(QUICK)
    assert first["session"] != second["session"]
    api.request("POST", f"/api/sessions/{first['session']}/play")
    wait_until(lambda: session_of(server, first).view["step"] >= 30)
    assert session_of(server, second).view["step"] == 0
    api.request("POST", f"/api/sessions/{second['session']}/step")
    wait_until(lambda: session_of(server, second).view["step"] == 1)
    api.request("POST", f"/api/sessions/{first['session']}/pause")
    assert session_of(server, first).view["step"] >= 30


def test_reset_with_settings_and_speed(server, api):
    body = api.new_session(QUICK)
    sid = body["session"]
    status, answer = api.request("POST", f"/api/sessions/{sid}/reset?dataset=xor&hidden=2")
    assert status == 200 and answer["session"] == sid and "dataset=xor" in answer["settings"]
    status, answer = api.request("POST", f"/api/sessions/{sid}/speed?speed=7")
    assert status == 200 and "speed=7" in answer["settings"] and "dataset=xor" in answer["settings"]


def trained_a_little(server, api):
    body = api.new_session(QUICK)
    session = session_of(server, body)
    api.request("POST", f"/api/sessions/{body['session']}/play")
    wait_until(lambda: session.view["step"] >= 25)
    api.request("POST", f"/api/sessions/{body['session']}/pause")
    time.sleep(0.2)
    return body["session"], session


def test_save_yields_the_model_chainrule_train_would_write(server, api, tmp_path):
    sid, session = trained_a_little(server, api)
    status, data = api.request("GET", f"/api/sessions/{sid}/model.safetensors", raw=True)
    assert status == 200
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    trained = TrainedModel.load(path)
    assert trained.config["dataset"] == "moons" and trained.config["hidden"] == [4]
    X = session.problem.X_train
    expected = cr.predict(session.model, X)
    np.testing.assert_array_equal(cr.predict(cr.load(path), X), expected)
    np.testing.assert_array_equal(trained.preprocessor.transform(session.problem.data.X_train), X)


def test_the_backprop_panel_is_chainrule_explain_on_that_point(server, api):
    sid, session = trained_a_little(server, api)
    status, answer = api.request("GET", f"/api/sessions/{sid}/backprop?part=test&index=3")
    assert status == 200 and answer["trace"]["all_checks_passed"]
    state = session.model.state_dict()
    params = [(state[f"{i}.weight"], state[f"{i}.bias"]) for i in (0, 2)]
    problem = session.problem
    expected = explain(sizes=[2, 4, 2], activation="tanh", loss="ce", X=problem.X_test[3:4],
                       y=problem.data.y_test[3:4], examples=[0], lr=0.1, params=params)
    assert answer["trace"] == json.loads(json.dumps(to_dict(expected)))
    assert "δ(1) = (W(2)ᵀ δ(2))" in answer["text"]


@pytest.mark.parametrize("method, path, status, words", [
    ("POST", "/api/sessions?lr=0", 400, ["'lr'", "between"]),
    ("POST", "/api/sessions?dataset=a&dataset=b", 400, ["'dataset'", "more than once"]),
    ("POST", "/api/sessions?hidden=9", 400, ["neurons per layer"]),
    ("GET", "/api/sessions/nosuchsession/stream", 404, ["no session 'nosuchsession'"]),
    ("GET", "/nowhere", 404, ["no such page"]),
    ("GET", "/static/../pyproject.toml", 404, ["no such"]),
    ("GET", "/static/settings.py", 404, ["no such file"]),
    ("GET", "/" + "a" * 5000, 414, ["longer than"]),
])
def test_a_bad_request_gets_a_4xx_with_a_message(server, api, method, path, status, words):
    got, answer = api.request(method, path)
    assert got == status
    for word in words:
        assert word in answer["error"]
    assert api.request("GET", "/", raw=True)[0] == 200  # still serving


@pytest.mark.parametrize("action, words", [
    ("backprop?index=abc", ["index must be an integer", "'abc'"]),
    ("backprop?index=500", ["point 500 does not exist", "70 points"]),
    ("backprop?part=val&index=0", ["'train' or 'test'"]),
    ("reset?lr=-1", ["'lr'"]),
    ("speed?speed=999", ["'speed'", "steps per second"]),
    ("speed", ["?speed=N"]),
    ("fly", ["no action"]),
])
def test_a_bad_session_request_gets_a_4xx_with_a_message(server, api, action, words):
    sid = api.new_session(QUICK)["session"]
    method = "GET" if action.startswith("backprop") else "POST"
    status, answer = api.request(method, f"/api/sessions/{sid}/{action}")
    assert 400 <= status < 500
    for word in words:
        assert word in answer["error"]
    status, _ = api.request("POST", f"/api/sessions/{sid}/step")
    assert status == 200  # the session survived


def test_the_server_bounds_its_sessions(server, api):
    for _ in range(3):
        api.new_session(QUICK)
    status, answer = api.request("POST", "/api/sessions")
    assert status == 503 and "3 sessions" in answer["error"]
    sid = next(iter(server.sessions._sessions))
    assert api.request("POST", f"/api/sessions/{sid}/end")[0] == 200
    assert api.request("POST", "/api/sessions")[0] == 201


def test_the_page_ships_in_the_package_data():
    from pathlib import Path

    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '"chainrule.serve" = ["static/*"]' in pyproject  # [tool.setuptools.package-data]
    static = resources.files("chainrule.serve") / "static"
    assert {"index.html", "app.js", "style.css"} <= {p.name for p in static.iterdir()}


def test_the_curve_backprop_panel_is_explain_with_mean_squared_error(server, api, tmp_path):
    body = api.new_session("dataset=curve&hidden=3&points=60&speed=200")
    sid, session = body["session"], session_of(server, body)
    assert body["points"]["task"] == "regression"
    api.request("POST", f"/api/sessions/{sid}/step")
    wait_until(lambda: session.view["step"] == 1)
    status, answer = api.request("GET", f"/api/sessions/{sid}/backprop?part=train&index=5")
    assert status == 200 and answer["trace"]["network"]["loss"] == "mse"
    state = session.model.state_dict()
    problem = session.problem
    expected = explain(sizes=[1, 3, 1], activation="tanh", loss="mse", X=problem.X_train[5:6],
                       y=problem.data.y_train[5:6], examples=[0], lr=0.1,
                       params=[(state[f"{i}.weight"], state[f"{i}.bias"]) for i in (0, 2)])
    assert answer["trace"] == json.loads(json.dumps(to_dict(expected)))
    status, data = api.request("GET", f"/api/sessions/{sid}/model.safetensors", raw=True)
    (tmp_path / "model.safetensors").write_bytes(data)
    trained = TrainedModel.load(tmp_path / "model.safetensors")
    assert trained.preprocessor.task == "regression"
    np.testing.assert_array_equal(cr.predict(trained.model, problem.X_test),
                                  cr.predict(session.model, problem.X_test))


def quadrants_csv(n=80) -> bytes:
    """Columns a, b (features), c (unused), label: 'yes' where a·b > 0."""
    rng = np.random.default_rng(0)
    rows = ["a,b,c,label"] + [f"{x:.4f},{y:.4f},{x - y:.4f},{'yes' if x * y > 0 else 'no'}"
                              for x, y in rng.standard_normal((n, 2)) * 3]
    return ("\n".join(rows) + "\n").encode()


def upload(server, sid, body, query):
    host, port = urlsplit(server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", f"/api/sessions/{sid}/csv?{query}", body=body)
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def test_a_csv_upload_trains_on_its_two_columns_and_saves_its_class_names(server, api, tmp_path):
    sid = api.new_session(QUICK)["session"]
    status, answer = upload(server, sid, quadrants_csv(), "columns=b,a&target=label")
    assert status == 200 and "dataset=csv" in answer["settings"]
    assert "columns=b%2Ca" in answer["settings"] and len(answer["points"]["train"]) == 56
    session = server.sessions.get(sid)
    rows = np.loadtxt(io.BytesIO(quadrants_csv()), delimiter=",", skiprows=1, usecols=(1, 0))
    first = answer["points"]["train"][0]
    assert np.abs(rows - first).sum(axis=1).min() < 1e-3  # drawn in the file's own units
    session.play()
    wait_until(lambda: session.view["epoch"] >= 3)
    session.pause()
    status, data = api.request("GET", f"/api/sessions/{sid}/model.safetensors", raw=True)
    (tmp_path / "model.safetensors").write_bytes(data)
    trained = TrainedModel.load(tmp_path / "model.safetensors")
    assert trained.preprocessor.classes == ["no", "yes"]
    assert trained.preprocessor.feature_names == ["b", "a"]
    query = session.settings.to_query()
    status, answer = api.request("POST", f"/api/sessions/{sid}/reset?{query}")
    assert status == 200 and session.problem.data.name == "csv"  # the file stays with the tab


@pytest.mark.parametrize("body, query, status, words", [
    (b"a,b,label\n1,x,yes\n2,3,no\n", "columns=a,b&target=label", 400,
     ["the CSV file, row 2, column 'b'", "'x'"]),
    (b"a,b,label\n1,2,yes\n2,3,no\n3,3,maybe\n", "columns=a,b&target=label", 400,
     ["two classes", "has 3"]),
    (b"a,b,label\n1,2,yes\n2,3,no\n", "columns=a,z&target=label", 400,
     ["unknown feature column 'z'"]),
    (b"a,b,label\n1,2,yes\n", "columns=a&target=label", 400, ["columns=NAME1,NAME2"]),
    (b"", "columns=a,b&target=label", 400, ["send the CSV file"]),
])
def test_a_bad_csv_gets_a_4xx_naming_what_is_wrong(server, api, body, query, status, words):
    sid = api.new_session(QUICK)["session"]
    got, answer = upload(server, sid, body, query)
    assert got == status
    for word in words:
        assert word in answer["error"]
    assert server.sessions.get(sid).problem.data.name == "moons"  # unchanged
    assert "/tmp" not in answer["error"]


def test_a_body_too_large_is_refused_before_it_is_read(server, api):
    sid = api.new_session(QUICK)["session"]
    host, port = urlsplit(server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", f"/api/sessions/{sid}/csv?columns=a,b&target=label")
    connection.putheader("Content-Length", str(2 << 20))
    connection.endheaders()  # the body is never sent: the answer must not wait for it
    response = connection.getresponse()
    assert response.status == 413 and "at most 1048576" in json.loads(response.read())["error"]
    connection.close()


def test_csv_settings_without_a_file_are_refused(server, api):
    status, answer = api.request("POST", "/api/sessions?dataset=csv&columns=a,b&target=y")
    assert status == 400 and "upload a CSV file first" in answer["error"]
