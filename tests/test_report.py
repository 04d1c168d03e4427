"""The evaluation report: analysis by hand, and an HTML page that renders in a browser."""

import pytest

from seqocr.cli import main
from seqocr.evaluate.analysis import MISSING, align_strings, analyse, insights

pytestmark = pytest.mark.heavy


def test_alignment_names_substitutions_drops_and_insertions():
    assert align_strings("1234", "1294") == [("1", "1"), ("2", "2"), ("3", "9"), ("4", "4")]
    assert align_strings("1234", "124") == [("1", "1"), ("2", "2"), ("3", MISSING), ("4", "4")]
    assert align_strings("12", "152") == [("1", "1"), (MISSING, "5"), ("2", "2")]


def test_analysis_by_hand():
    truths = ["13", "11", "34", "56"]
    predictions = ["1", "11", "39", "56"]
    a = analyse(truths, predictions, [0.5, 0.9, 0.8, 0.99])
    assert a["accuracy"] == 0.5 and a["cer"] == pytest.approx(2 / 8)
    assert a["by_position"][1]["accuracy"] == 1.0 and a["by_position"][2]["accuracy"] == 0.5
    assert a["repeats"]["with"]["count"] == 1 and a["repeats"]["with"]["accuracy"] == 1.0
    assert a["repeats"]["with"]["expected_accuracy"] == pytest.approx(0.75**2)  # 6 of 8 characters right
    assert {(c["truth"], c["predicted"]) for c in a["confusions"]} == {("3", MISSING), ("4", "9")}
    safest = a["threshold_for_1pct_error"]  # the two most confident answers are right
    assert safest["threshold"] == 0.9 and safest["coverage"] == 0.5
    found = insights(a)
    assert found[0].startswith("50.00% of 4 strings are read exactly")
    # a miscalibrated model is told to calibrate; one already calibrated, on what data
    assert any("`seqocr calibrate`)" in line for line in found)
    calibrated = insights(a, ece_before=0.2)
    assert any("with the fitted temperature (20.00% without)" in line for line in calibrated)
    assert any("calibrate on labelled images like them" in line for line in calibrated)
    assert not any("`seqocr calibrate`)" in line for line in calibrated)


def test_the_report_renders_in_a_browser_with_its_images(tmp_path, synth_folder, capsys, browser_page):
    out = tmp_path / "report.html"
    assert main(["report", "digits", "--data", str(synth_folder), "--out", str(out)]) == 0
    assert out.with_suffix(".md").is_file() and (tmp_path / "report_files" / "reliability.png").is_file()
    assert "of 40 strings are read exactly" in capsys.readouterr().out
    page, errors = browser_page
    page.goto(out.as_uri())
    widths = page.eval_on_selector_all("img", "images => images.map(i => i.complete ? i.naturalWidth : 0)")
    headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
    assert errors == []
    assert len(widths) >= 5 and all(w > 100 for w in widths)
    assert {"Insights", "Headline", "By length", "Reliability", "Confusion matrix"} <= set(headings)


def test_with_no_data_the_report_reads_each_test_suite_and_shows_them_apart(digits_model, monkeypatch, data_dir):
    from seqocr.evaluate import report

    monkeypatch.setattr(report, "SUITE_STRINGS", 5)
    monkeypatch.setattr(report, "CELLS", 3)
    images, truths, description, suites = report.report_data(digits_model, None)
    assert suites == [name for name in report.REPORT_SUITES for _ in range(5)] + ["cells"] * 3  # it locates
    assert len(images) == len(truths) == 23 and "touching_1_10" in description and "cells suite" in description
    unlocated = report.report_data(digits_model.locating("off", None), None)[3]
    assert unlocated == [name for name in report.REPORT_SUITES for _ in range(5)]
