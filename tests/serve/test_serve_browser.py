"""The page in a real browser: Debian's headless Chromium driven by Playwright.

Needs `apt-get install -y chromium` (and `pip install playwright`, in the [test] extra; no
`playwright install`: the system browser is used). Without them the tests are skipped on a
developer's machine and FAIL under CI (CI=true), so a missing browser cannot pass unseen.
Set CHAINRULE_SCREENSHOTS=DIR to keep the screenshots (docs/ holds the README's).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil

import numpy as np
import pytest
from matplotlib import image

from chainrule.explain import explain, to_dict

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ORANGE, BLUE = (245, 147, 34), (8, 119, 189)


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[test]')"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests need Chromium under CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def server(serve_with):
    with serve_with(max_sessions=4) as server:
        yield server


class Tab:
    """One browser tab on the page, recording every request it makes."""

    def __init__(self, browser, server, query=""):
        self.page = browser.new_page(viewport={"width": 1280, "height": 1000})
        self.requests, self.errors = [], []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(server.url + query)
        self.page.wait_for_function("document.getElementById('train-loss').textContent !== '–'")

    def number(self, element_id: str) -> float:
        return float(self.page.text_content(f"#{element_id}"))

    def wait_for_epoch(self, epochs: int):
        self.page.wait_for_function(
            f"Number(document.getElementById('epoch').textContent) >= {epochs}", timeout=90000)

    def session_id(self) -> str:
        return self.page.evaluate("page.session")


def shot(tab, selector: str, name: str) -> np.ndarray:
    """The element's screenshot as RGB (0..255), kept in CHAINRULE_SCREENSHOTS if set."""
    png = tab.page.locator(selector).screenshot()
    folder = os.environ.get("CHAINRULE_SCREENSHOTS")
    if folder:
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(png)
    return (image.imread(io.BytesIO(png))[..., :3] * 255).round()


def share_near(pixels: np.ndarray, colour, tolerance=40) -> float:
    """The fraction of pixels within `tolerance` of `colour` in each channel."""
    return float((np.abs(pixels - np.array(colour)).max(axis=-1) <= tolerance).mean())


def test_play_trains_pause_holds_and_nothing_leaves_the_machine(browser, server):
    tab = Tab(browser, server)
    loss0, heat0 = tab.number("train-loss"), tab.page.evaluate("page.view.heat")
    tab.page.click("#play")
    tab.wait_for_epoch(15)
    assert tab.number("train-loss") < loss0
    assert tab.page.evaluate("page.view.heat") != heat0  # the heat map was redrawn
    tab.page.click("#play")  # pause
    tab.page.wait_for_function("document.getElementById('play').textContent === 'Play'")
    tab.page.wait_for_timeout(300)
    held = tab.page.text_content("#step-count")
    tab.page.wait_for_timeout(700)
    assert tab.page.text_content("#step-count") == held
    tab.page.click("#step")
    tab.page.wait_for_function(
        f"document.getElementById('step-count').textContent === '{int(held) + 1}'")
    assert tab.requests and all(url.startswith((server.url, "data:"))
                                for url in tab.requests)
    assert not tab.errors


def test_the_views_have_content(browser, server):
    tab = Tab(browser, server)
    tab.page.click("#play")
    tab.wait_for_epoch(40)
    tab.page.click("#play")
    tab.page.wait_for_function("document.getElementById('play').textContent === 'Play'")
    boundary = shot(tab, "#boundary", "serve-boundary.png")
    assert share_near(boundary, ORANGE, 60) > 0.1 and share_near(boundary, BLUE, 60) > 0.1
    curve = shot(tab, "#loss-curve", "serve-loss.png")
    assert share_near(curve, (24, 49, 83)) > 0.001 and share_near(curve, (224, 123, 0)) > 0.001
    neurons = shot(tab, "#neurons .neuron-layer >> nth=0", "serve-neurons.png")
    assert tab.page.locator("#neurons canvas").count() == 8
    assert share_near(neurons, ORANGE, 60) > 0.05 and share_near(neurons, BLUE, 60) > 0.05
    bars = tab.page.locator("#grad-norms .bar")
    assert bars.count() == 6 and "0.weight" in bars.first.text_content()
    tab.page.click("#boundary", position={"x": 200, "y": 200})
    tab.page.wait_for_function("document.getElementById('backprop-point').textContent !== ''")
    page = shot(tab, "body", "serve-page.png")
    assert page.shape[0] > 1000 and share_near(page, BLUE, 60) > 0.01


def test_the_regression_curve_is_drawn_as_a_fitted_line(browser, server):
    tab = Tab(browser, server, "?dataset=curve&hidden=6&batch_size=0&optimizer=adam&lr=0.05")
    assert tab.page.input_value("#dataset") == "curve"
    tab.page.click("#play")
    tab.wait_for_epoch(60)
    tab.page.click("#play")
    tab.page.wait_for_function("document.getElementById('play').textContent === 'Play'")
    assert tab.number("train-loss") < 0.2
    curve = shot(tab, "#boundary", "serve-curve.png")
    assert 0.001 < share_near(curve, BLUE, 40) < 0.05  # a line, not a filled map
    assert share_near(curve, (85, 85, 85), 20) > 0.002  # the points
    assert not tab.errors


def test_a_csv_file_is_uploaded_and_trained_on(browser, server, tmp_path):
    rng = np.random.default_rng(1)
    rows = ["height,weight,label"] + [f"{h:.3f},{w:.3f},{'tall' if h > 0 else 'short'}"
                                      for h, w in rng.standard_normal((60, 2))]
    path = tmp_path / "people.csv"
    path.write_text("\n".join(rows) + "\n")
    tab = Tab(browser, server)
    tab.page.set_input_files("#csv-file", str(path))
    tab.page.wait_for_function("!document.getElementById('csv-use').disabled")
    assert tab.page.input_value("#csv-x") == "height"
    assert tab.page.input_value("#csv-target") == "label"
    tab.page.click("#csv-use")
    tab.page.wait_for_function("location.search.includes('dataset=csv')")
    assert tab.page.input_value("#dataset") == "csv"
    assert tab.page.evaluate("page.points.train.length") == 42
    tab.page.click("#play")
    tab.wait_for_epoch(5)
    session = server.sessions.get(tab.session_id())
    assert session.problem.data.classes == ["short", "tall"] and not tab.errors


def test_a_clicked_point_shows_chainrule_explain_of_it(browser, server):
    tab = Tab(browser, server)
    tab.page.click("#step")
    tab.page.wait_for_function("document.getElementById('step-count').textContent === '1'")
    x, y = tab.page.evaluate("toCanvas(...page.points.train[7])")
    tab.page.click("#boundary", position={"x": x, "y": y})
    tab.page.wait_for_function("document.getElementById('backprop-point').textContent !== ''")
    assert "train point 7, after step 1" in tab.page.text_content("#backprop-point")
    text = tab.page.text_content("#backprop-text")
    assert "δ(3) = ŷ − y" in text and "Every number agrees with autodiff" in text
    shown = json.loads(tab.page.get_attribute("#backprop", "data-trace"))
    session = server.sessions.get(tab.session_id())
    state = session.model.state_dict()
    expected = explain(sizes=[2, 4, 4, 2], activation="tanh", loss="ce",
                       X=session.problem.X_train[7:8], y=session.problem.data.y_train[7:8],
                       examples=[0], lr=0.1, seed=None,
                       params=[(state[f"{i}.weight"], state[f"{i}.bias"]) for i in (0, 2, 4)])
    assert shown == json.loads(json.dumps(to_dict(expected)))
    shot(tab, "#backprop", "serve-backprop.png")


def test_each_tab_is_its_own_session_ended_when_the_tab_closes(browser, server):
    first, second = Tab(browser, server), Tab(browser, server)
    assert first.session_id() != second.session_id() and len(server.sessions) == 2
    first.page.click("#play")
    first.wait_for_epoch(5)
    assert second.page.text_content("#epoch") == "0"
    second.page.close(run_before_unload=True)
    first.page.wait_for_function("true")  # let the goodbye arrive
    for _ in range(100):
        if len(server.sessions) == 1:
            break
        first.page.wait_for_timeout(100)
    assert len(server.sessions) == 1 and server.sessions.get(first.session_id())


def test_the_address_restores_every_setting(browser, server):
    query = ("?dataset=spirals&noise=0.05&points=200&test_ratio=0.2&hidden=3%2C5&"
             "activation=relu&optimizer=adam&lr=0.01&batch_size=1&l2=0.001&dropout=0.1&"
             "schedule=cosine&epochs=50&speed=30&seed=4")
    tab = Tab(browser, server, query)
    settings = server.sessions.get(tab.session_id()).settings
    assert settings.dataset == "spirals" and settings.hidden == (3, 5)
    assert settings.batch_size == 1 and settings.schedule == "cosine" and settings.seed == 4
    assert tab.page.input_value("#dataset") == "spirals"
    assert tab.page.input_value("#batch-mode") == "stochastic"
    assert tab.page.input_value("#lr") == "0.01"
    assert tab.page.locator("#layers .layer").count() == 2
    tab.page.select_option("#dataset", "xor")
    tab.page.wait_for_function("location.search.includes('dataset=xor')")
    assert re.search(r"hidden=3%2C5", tab.page.evaluate("location.search"))
    assert server.sessions.get(tab.session_id()).settings.dataset == "xor"


def test_bad_settings_in_the_address_are_reported_on_the_page(browser, server):
    tab = Tab(browser, server, "?lr=banana")
    assert "'lr' must be a number" in tab.page.text_content("#status")
    assert tab.page.input_value("#lr") == "0.1"  # started from the defaults
