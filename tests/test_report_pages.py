"""The run report and the comparison page: self-contained HTML whose every image decodes, whose numbers
come from the run's own files, and whose strings are escaped."""

import base64
import io
import re

import pytest
from PIL import Image
from typer.testing import CliRunner

from ecogen import api, train
from ecogen.cli import app
from ecogen.energy import record as records
from ecogen.rating import AnswerStore, create_study, load_study
from ecogen.report.equivalents import equivalents

from conftest import tiny_config

IMG = re.compile(r'<img[^>]*src="data:image/png;base64,([^"]+)"')


def _images(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(data))) for data in IMG.findall(page)]


@pytest.fixture(scope="module")
def checked_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_runs")
    runs = []
    for name, seed in (("<b>odd</b> & name", 0), ("plain", 1)):  # a folder name a page must escape
        out = root / name
        train(tiny_config(steps=6, seed=seed, eval_every=3, eval_n=32, sample_every=2), out, progress=False)
        runs.append(out)
    return runs


def test_the_report_holds_every_section_with_images_that_decode(checked_runs, tmp_path):
    run = checked_runs[0]
    path = api.report(run)
    page = path.read_text()
    assert path == run / "report.html"
    for heading in ("Losses", "Quality against energy", "Energy and carbon by phase", "The bill",
                    "Samples over training", "Human ratings", "Machine"):
        assert f"<h2>{heading}</h2>" in page
    images = _images(page)
    assert len(images) >= 3 + 4  # loss, quality, energy plots and the grids (steps 2, 4, 6 and the last)
    assert all(img.width > 0 and img.height > 0 for img in images)
    assert "&lt;b&gt;odd&lt;/b&gt; &amp; name" in page and "<b>odd</b>" not in page
    record = records.read(run / "run.json")
    assert "estimates" in page and record.estimated  # this machine has no energy counter
    for eq in equivalents(record.total.gco2):
        assert f"{eq.amount:,.2f} {eq.unit}" in page
    assert "EPA-420-F-23-014" in page and "No rating study has used this run" in page


def test_the_report_shows_human_ratings_of_a_study_that_used_the_run(checked_runs, tmp_path):
    run = checked_runs[1]
    study = tmp_path / "study"
    create_study(study, [run], per_rater=8)
    s = load_study(study)
    store = AnswerStore(study, s)
    rater = store.rater("Ada")
    while (item := store.next_image(rater)) is not None:
        store.answer(rater, item[0], item[1], "real")  # every image called real: error rate 50%
    page = api.report(run, tmp_path / "r.html").read_text()
    assert "50.0%" in page and str(study.resolve()) in page


def test_compare_draws_every_run_in_one_table_and_one_plot(checked_runs, tmp_path):
    result = CliRunner().invoke(app, ["compare", *map(str, checked_runs), "--out", str(tmp_path / "cmp.html")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "cmp.html").read_text()
    assert page.count("<tr>") == 1 + len(checked_runs)
    assert len(_images(page)) == 1 and _images(page)[0].width > 0
    bad = CliRunner().invoke(app, ["compare", str(checked_runs[1]), "--out", str(tmp_path / "cmp.txt")])
    assert bad.exit_code != 0 and not (tmp_path / "cmp.txt").exists()


def test_report_of_a_folder_without_a_run_is_an_error(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code != 0 and "report.html" not in {p.name for p in tmp_path.iterdir()}
