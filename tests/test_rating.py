"""Human rating studies: frozen images with provenance, a session through the real Flask app (restarted
midway), scores checked against the answers given, and requests that must change nothing."""

import csv
import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from ecogen import checkpoint, train
from ecogen.cli import app
from ecogen.rating import AnswerStore, create_study, load_study, study_results
from ecogen.rating.server import create_app
from ecogen.rating.study import rater_sequence

from conftest import tiny_config

PER_RATER = 20


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("rating_runs")
    for name, seed in (("a", 0), ("b", 1)):
        train(tiny_config(steps=2, seed=seed), root / name, progress=False)
    return root / "a", root / "b"


@pytest.fixture
def study(two_runs, tmp_path):
    create_study(tmp_path / "study", list(two_runs), per_rater=PER_RATER, seed=3)
    return tmp_path / "study"


def test_a_study_freezes_balanced_images_with_their_provenance(study, two_runs):
    s = load_study(study)
    judged = Counter(i.source for i in s.judged)
    assert judged == {"real": PER_RATER // 2, "a": PER_RATER // 2, "b": PER_RATER // 2}
    assert Counter(i.truth for i in s.tutorial) == {"real": 2, "fake": 2}
    for image in s.images:
        assert (study / "images" / f"{image.id}.png").is_file()
    ckpt = checkpoint.latest(two_runs[0] / "checkpoints")
    fakes_a = [i for i in s.images if i.source == "a"]
    assert {(i.step, i.checkpoint_sha256) for i in fakes_a} == {(ckpt.step, ckpt.meta["sha256"])}
    assert all(i.holdout_index is not None for i in s.images if i.truth == "real")
    seq = rater_sequence(s, "Ada")
    assert seq == rater_sequence(s, "Ada") and seq != rater_sequence(s, "Bob")  # fixed per rater, shuffled
    sources = Counter(s.image(i).source for i in seq)
    assert sources == {"real": PER_RATER // 2, "a": PER_RATER // 4, "b": PER_RATER // 4}


def _rate(client, name, decide, stop_after=None):
    """Register, then answer with ``decide(truth)`` until done (or ``stop_after`` answers)."""
    me = client.post("/api/raters", json={"name": name}).get_json()
    given = 0
    s = load_study(client.application.config["STUDY_FOLDER"])
    while stop_after is None or given < stop_after:
        item = client.get(f"/api/raters/{me['rater']}/next").get_json()
        if item["done"]:
            break
        assert client.get(item["image"]).status_code == 200
        answer = decide(s.image(item["image_id"]).truth)
        reply = client.post(f"/api/raters/{me['rater']}/answers",
                            json={"position": item["position"], "image_id": item["image_id"], "answer": answer})
        assert reply.status_code == 201
        given += 1
    return me, given


def test_a_session_survives_a_restart_and_the_scores_match_the_answers(study, tmp_path):
    first = create_app(study).test_client()
    assert b"Real or generated?" in first.get("/").data
    tutorial = first.get("/api/tutorial").get_json()
    assert sorted(t["truth"] for t in tutorial) == ["fake", "fake", "real", "real"]
    me, given = _rate(first, "Ada", lambda truth: truth, stop_after=7)  # Ada is always right
    assert given == 7
    restarted = create_app(study).test_client()  # a new server on the same folder
    again = restarted.post("/api/raters", json={"name": "Ada"}).get_json()
    assert again["rater"] == me["rater"] and again["started"] is True
    assert restarted.get(f"/api/raters/{me['rater']}/next").get_json()["position"] == 7  # resumes where she was
    _, rest = _rate(restarted, "Ada", lambda truth: truth)
    assert rest == PER_RATER - 7
    _rate(restarted, "Bob", lambda truth: "real")  # Bob calls everything real
    results = study_results(study, csv_path=tmp_path / "answers.csv")
    assert results.answers == 2 * PER_RATER
    for score in results.runs:
        # Ada: no errors; Bob: every fake of this run judged real, no real judged fake -> pooled 50% / 2
        assert score.false_real == pytest.approx(0.5) and score.false_fake == 0.0
        assert score.error_rate == pytest.approx(0.25) and score.raters == 2
        assert 0.0 <= score.ci_low <= 0.25 <= score.ci_high <= 0.5
    rows = {r.rater: r for r in results.raters}
    assert rows["Ada"].error_rate == 0.0 and rows["Bob"].error_rate == 0.5 and rows["Bob"].false_real == 1.0
    lines = list(csv.DictReader(open(tmp_path / "answers.csv")))
    assert len(lines) == 2 * PER_RATER and {ln["rater"] for ln in lines} == {"Ada", "Bob"}
    assert all(float(ln["answered_at"]) >= float(ln["shown_at"]) for ln in lines)


def test_malformed_or_replayed_requests_get_4xx_and_change_nothing(study):
    client = create_app(study).test_client()
    rater = client.post("/api/raters", json={"name": "Eve"}).get_json()["rater"]
    item = client.get(f"/api/raters/{rater}/next").get_json()
    url = f"/api/raters/{rater}/answers"
    good = {"position": item["position"], "image_id": item["image_id"], "answer": "real"}
    assert client.post(url, json=good).status_code == 201
    bad = [
        (good, 409),  # replayed
        ({**good, "position": 5}, 409),  # not shown yet
        ({**good, "position": 1, "image_id": "0" * 16}, 409),  # another image
        ({**good, "answer": "maybe"}, 400),
        ({**good, "position": "1"}, 400),
        ({**good, "image_id": "../study.json"}, 400),
        ([1, 2], 400),
    ]
    for payload, status in bad:
        assert client.post(url, json=payload).status_code == status, payload
    assert client.post(url, data="not json", content_type="application/json").status_code == 400
    assert client.post("/api/raters/999/answers", json=good).status_code == 404
    assert client.get("/api/raters/999/next").status_code == 404
    for name in ("", " ", "x" * 65, "a\x00b", 7):
        assert client.post("/api/raters", json={"name": name}).status_code == 400
    for path in ("/images/../study.json", "/images/%2e%2e%2fstudy.json", "/images/" + "f" * 16 + ".png",
                 "/images/study.png", "/answers.sqlite"):
        assert client.get(path).status_code == 404, path
    assert client.post(url, data="x" * 10000, content_type="application/json").status_code == 413
    assert len(AnswerStore(study, load_study(study)).answers()) == 1  # only the one good answer


def test_rater_names_are_stored_verbatim_and_never_interpreted(study):
    client = create_app(study).test_client()
    name = "<i>[b]M[/b]"  # HTML and Rich markup, short enough for an 80-column table
    assert client.post("/api/raters", json={"name": name}).status_code == 200
    page = client.get("/").data.decode()
    assert "innerHTML" not in page and "textContent = me.name" in page
    assert "Content-Security-Policy" in client.get("/").headers
    _rate(client, name, lambda truth: "fake")
    result = CliRunner().invoke(app, ["rate", "results", str(study)], env={"COLUMNS": "300"})
    assert result.exit_code == 0 and name in result.output  # Rich markup shown, not applied


def test_the_cli_makes_and_scores_a_study(two_runs, tmp_path):
    runner = CliRunner()
    out = tmp_path / "s"
    made = runner.invoke(app, ["rate", "new", str(out), "--run", str(two_runs[0]), "--per-rater", "10"])
    assert made.exit_code == 0, made.output
    again = runner.invoke(app, ["rate", "new", str(out), "--run", str(two_runs[0])])
    assert again.exit_code != 0 and "already holds a study" in str(again.exception or again.output)
    result = runner.invoke(app, ["rate", "results", str(out), "--json"])
    data = json.loads(result.stdout)
    assert data["answers"] == 0 and data["runs"][0]["error_rate"] is None and data["runs"][0]["run"] == "a"
    odd = runner.invoke(app, ["rate", "new", str(tmp_path / "t"), "--run", str(two_runs[0]), "--per-rater", "7"])
    assert odd.exit_code != 0 and "even number" in str(odd.exception or odd.output)


def test_rate_serve_prints_its_url_warns_off_localhost_and_stops_on_ctrl_c(study):
    import signal
    import time
    import urllib.request

    from conftest import child, read_until

    with child("rate", "serve", str(study), "--host", "0.0.0.0", "--port", "0") as proc:
        err = read_until(proc.stderr, "rating page:")
        port = int(err.split("http://0.0.0.0:")[1].split("/")[0])
        deadline, page, why = time.time() + 60, None, None
        while time.time() < deadline and page is None:
            try:  # a busy machine can take seconds over the first page: a generous timeout, then again
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
            except OSError as failure:  # not `err`: that name holds the server's stderr
                why = failure
                time.sleep(0.3)
        assert page is not None and "Real or generated?" in page, f"no rating page within 60 s: {why!r}"
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"exit {proc.returncode} after Ctrl-C; stderr: {rest[-2000:]!r}"
    assert f"http://0.0.0.0:{port}/" in err and "warning: listening on 0.0.0.0" in err
