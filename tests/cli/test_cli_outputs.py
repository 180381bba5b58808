"""The run folder's plots and report: valid PNGs with content; report.html self-contained."""

import base64
import html.parser
import re

import pytest

from chainrule.report import ReportError, render_report


class References(html.parser.HTMLParser):
    """Every attribute of the page that can load something: src, href, srcset, ..."""

    def __init__(self):
        super().__init__()
        self.found, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action", "background"):
                self.found.append((tag, name, value))


def test_every_png_is_a_valid_image_with_content(trained_run, check_png):
    out, _ = trained_run
    pngs = sorted(out.glob("*.png"))
    assert {p.name for p in pngs} == {"curves.png", "learning_rate.png", "gradient_norms.png",
                                      "confusion_matrix.png"}
    for path in pngs:
        check_png(path.read_bytes())


def test_report_references_no_external_file(trained_run):
    out, _ = trained_run
    page = (out / "report.html").read_text(encoding="utf-8")
    parser = References()
    parser.feed(page)
    assert parser.found, "the report shows its plots"
    for tag, name, value in parser.found:
        assert tag == "img" and name == "src", (tag, name)
        assert value.startswith("data:image/png;base64,"), value[:60]
    assert not {"link", "script", "iframe", "object", "embed"} & set(parser.tags)
    assert "url(" not in page and "@import" not in page
    assert not re.search(r"(?i)(https?|file):", page)


def test_report_embeds_each_plot_and_shows_the_run(trained_run):
    out, _ = trained_run
    page = (out / "report.html").read_text(encoding="utf-8")
    parser = References()
    parser.feed(page)
    embedded = sorted(base64.b64decode(value.split(",", 1)[1]) for _, _, value in parser.found)
    assert embedded == sorted(p.read_bytes() for p in out.glob("*.png"))
    for section in ("Metrics", "Plots", "Gradient health", "Configuration"):
        assert f"<h2>{section}</h2>" in page
    for caption in ("loss and metrics per epoch", "learning rate per step",
                    "gradient norm per layer and step (log scale)", "confusion matrix"):
        assert f"<figcaption>{caption}" in page
    for parameter in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert parameter in page
    assert "<td>optimizer</td><td>adam</td>" in page
    assert "<td>task</td><td>classification (inferred)</td>" in page
    assert "<th>run</th>" in page and "<td>epochs</td><td class=\"num\">15</td>" in page
    assert "flowers.csv" in page


def test_report_escapes_text_and_refuses_non_png():
    page = render_report(title="a <b> run", config={"data": "<script>alert(1)</script>.csv"},
                         metrics={"test": {"loss": 0.5}}, plots={})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<title>a &lt;b&gt; run</title>" in page
    with pytest.raises(ReportError, match="not PNG"):
        render_report(title="t", config={}, metrics={}, plots={"fake": b"GIF89a..."})
