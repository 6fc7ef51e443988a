"""The rating study as a hostile or clumsy user meets it: the documented command in a real browser, races,
deep or huge JSON, out-of-range ids, bad ports, spreadsheet formulas and foreign answer files. Each is
refused with a 4xx over HTTP, or one line and exit 2 on the CLI, and changes nothing already stored."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ecogen import train
from ecogen.rating import AnswerStore, create_study, load_study
from ecogen.rating.server import open_server

from conftest import child, read_until, run_cli, tiny_config

PER_RATER = 20


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile_rating")
    train(tiny_config(steps=2), root / "run", progress=False)
    create_study(root / "study", [root / "run"], per_rater=PER_RATER, seed=1)
    return root / "study"


@pytest.fixture
def study(made, tmp_path) -> Path:
    shutil.copytree(made, tmp_path / "study")
    return tmp_path / "study"


@pytest.fixture
def server(study):
    http = open_server(study, "127.0.0.1", 0)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.port}"
    http.shutdown()
    http.server_close()
    thread.join()


def _call(url: str, body: object | None = None, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, {}


def _one_line(result) -> None:
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr


CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver")
def test_the_documented_serve_command_shows_images_in_chromium(study):
    """`ecogen rate serve runs/study` as the README writes it: a relative path, from the working folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    (study.parent / "runs").mkdir()
    study.rename(study.parent / "runs" / "study")
    with child("rate", "serve", "runs/study", "--port", "0", cwd=study.parent) as proc:
        url = read_until(proc.stderr, "rating page:").split("rating page: ")[1].split()[0]
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        try:
            driver.set_page_load_timeout(30)
            driver.get(url)
            driver.find_element(By.ID, "name").send_keys("Ada")
            driver.find_element(By.ID, "start").click()
            loaded = ("const i = document.getElementById(arguments[0]);"
                      "return i && i.complete && i.naturalWidth > 0 ? i.naturalWidth : 0;")
            width = WebDriverWait(driver, 20).until(lambda d: d.execute_script(loaded, "tutorial-image")
                                                    or d.execute_script(loaded, "image"))
            assert width > 0
        finally:
            driver.quit()


def test_concurrent_duplicate_answers_and_registrations_get_409_not_500(study, server):
    ids: list[int] = []
    lock = threading.Lock()

    def register() -> None:
        status, body = _call(f"{server}/api/raters", {"name": "Same"})
        with lock:
            ids.append(body.get("rater") if status == 200 else status)

    threads = [threading.Thread(target=register) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and isinstance(ids[0], int), ids  # one rater, eight times 200
    statuses: list[int] = []

    def rate(rater: int) -> None:
        while True:
            _, item = _call(f"{server}/api/raters/{rater}/next")
            if item.get("done"):
                return
            status, _ = _call(f"{server}/api/raters/{rater}/answers",
                              {"position": item["position"], "image_id": item["image_id"], "answer": "real"})
            with lock:
                statuses.append(status)

    raters = [_call(f"{server}/api/raters", {"name": f"r{k}"})[1]["rater"] for k in range(4)]
    threads = [threading.Thread(target=rate, args=(r,)) for r in raters for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) <= {201, 409} and statuses.count(201) == 4 * PER_RATER, sorted(set(statuses))
    stored = AnswerStore(study, load_study(study)).answers()
    assert len(stored) == 4 * PER_RATER and len({(a.rater, a.position) for a in stored}) == 4 * PER_RATER


def test_deep_json_and_huge_numbers_get_400(study, server):
    _, me = _call(f"{server}/api/raters", {"name": "Eve"})
    _, item = _call(f"{server}/api/raters/{me['rater']}/next")
    deep = b"[" * 2000 + b"]" * 2000  # 4 KB, 2,000 deep
    assert _call(f"{server}/api/raters", raw=deep)[0] == 400
    assert _call(f"{server}/api/raters/{me['rater']}/answers", raw=deep)[0] == 400
    for huge in (2**63, 2**64 + 5):
        assert _call(f"{server}/api/raters/{huge}/next")[0] == 400
        assert _call(f"{server}/api/raters/{huge}/answers", {"position": 0, "image_id": item["image_id"],
                                                             "answer": "real"})[0] == 400
        assert _call(f"{server}/api/raters/{me['rater']}/answers", {"position": huge, "image_id": item["image_id"],
                                                                    "answer": "real"})[0] == 400
    assert AnswerStore(study, load_study(study)).answers() == []


def test_bad_ports_are_one_line_before_any_url(study):
    _one_line(run_cli("rate", "serve", str(study), "--port", "99999"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli("rate", "serve", str(study), "--port", str(taken.getsockname()[1]))
    _one_line(result)
    assert "cannot listen" in result.stderr and "rating page" not in result.stderr


def test_csv_cells_never_start_a_formula(study, tmp_path):
    from ecogen.rating.server import create_app

    client = create_app(study).test_client()
    name = '=HYPERLINK("http://x","y")'
    rater = client.post("/api/raters", json={"name": name}).get_json()["rater"]
    item = client.get(f"/api/raters/{rater}/next").get_json()
    client.post(f"/api/raters/{rater}/answers", json={"position": item["position"], "image_id": item["image_id"],
                                                      "answer": "fake"})
    result = run_cli("rate", "results", str(study), "--csv", str(tmp_path / "a.csv"))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "a.csv").read_text()
    assert "'=HYPERLINK" in text and "\n=" not in text and ",=" not in text


@pytest.mark.parametrize("kind", ["damaged", "foreign"])
def test_results_on_a_damaged_or_foreign_answers_file_is_one_line_and_writes_nothing(study, kind):
    path = study / "answers.sqlite"
    path.unlink(missing_ok=True)
    if kind == "damaged":
        path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    else:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE notes (id INTEGER, text TEXT)")
            db.execute("INSERT INTO notes VALUES (1, 'mine')")
    before = path.read_bytes()
    _one_line(run_cli("rate", "results", str(study)))
    _one_line(run_cli("rate", "results", str(study), "--json"))
    assert path.read_bytes() == before
    _one_line(run_cli("rate", "serve", str(study), "--port", "0"))  # the server refuses it too, before listening
    assert path.read_bytes() == before


def test_results_of_a_study_without_answers_creates_no_file(study):
    (study / "answers.sqlite").unlink(missing_ok=True)
    result = run_cli("rate", "results", str(study), "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["answers"] == 0
    assert not (study / "answers.sqlite").exists()
