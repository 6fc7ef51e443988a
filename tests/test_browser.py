"""A real browser (headless Chromium from Debian, driven by Selenium) through a whole rating session with
clicks and keys, the server restarted midway; then a report and a comparison, every plot loaded."""

import shutil
import threading
from pathlib import Path

import pytest

from ecogen import api, train
from ecogen.rating import AnswerStore, create_study, load_study, study_results
from ecogen.rating.server import create_app

from conftest import tiny_config

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
PER_RATER = 12


class Server:
    """The study's Flask app on a real socket, in a thread; ``restart`` builds a new app on the same port."""

    def __init__(self, folder: Path) -> None:
        from werkzeug.serving import make_server

        self.folder, self.make = folder, make_server
        self.http = make_server("127.0.0.1", 0, create_app(folder), threaded=True)
        self.port = self.http.server_port
        self._start()

    def _start(self) -> None:
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()

    def restart(self) -> None:
        self.stop()
        self.http = self.make("127.0.0.1", self.port, create_app(self.folder), threaded=True)
        self._start()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout=15):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def _judge(driver, study, answers_given, how_many, by_key):
    """Answer ``how_many`` images: fakes as fake, reals alternately right and wrong; clicks or keys."""
    from selenium.webdriver.common.by import By

    for _ in range(how_many):
        _wait(driver, lambda d: d.find_element(By.ID, "judge").is_displayed())
        text = driver.find_element(By.ID, "progress-text").text
        image_id = driver.find_element(By.ID, "image").get_attribute("src").rsplit("/", 1)[1].removesuffix(".png")
        truth = study.image(image_id).truth
        wrong_real = truth == "real" and sum(1 for a in answers_given if a[1] == "real") % 2 == 1
        answer = "fake" if truth == "fake" or wrong_real else "real"
        answers_given.append((image_id, truth, answer))
        if by_key:
            driver.find_element(By.TAG_NAME, "body").send_keys("r" if answer == "real" else "g")
        else:
            driver.find_element(By.ID, "real" if answer == "real" else "fake").click()
        _wait(driver, lambda d: d.find_element(By.ID, "done").is_displayed()
              or d.find_element(By.ID, "progress-text").text != text)


def test_a_rating_session_in_chromium_survives_a_server_restart(browser, tmp_path):
    from selenium.webdriver.common.by import By

    run = tmp_path / "run"
    train(tiny_config(steps=2), run, progress=False)
    folder = tmp_path / "study"
    create_study(folder, [run], per_rater=PER_RATER)
    study = load_study(folder)
    server = Server(folder)
    try:
        browser.get(f"http://127.0.0.1:{server.port}/")
        browser.find_element(By.ID, "name").send_keys("Grace <b>H</b>")
        browser.find_element(By.ID, "start").click()
        _wait(browser, lambda d: d.find_element(By.ID, "tutorial").is_displayed())
        labels = []
        for _ in study.tutorial:
            labels.append(browser.find_element(By.ID, "tutorial-label").text)
            browser.find_element(By.ID, "tutorial-next").click()
        assert sorted(labels) == ["This one is generated."] * 2 + ["This one is real."] * 2
        given: list[tuple[str, str, str]] = []
        _judge(browser, study, given, 5, by_key=False)
        assert browser.find_element(By.ID, "who").text == "Grace <b>H</b>"  # shown as text, not markup
        server.restart()
        browser.refresh()  # the page remembers the rater and resumes at the sixth image
        _wait(browser, lambda d: d.find_element(By.ID, "progress-text").text == f"6 / {PER_RATER}")
        _judge(browser, study, given, PER_RATER - 5, by_key=True)
        _wait(browser, lambda d: d.find_element(By.ID, "done").is_displayed())
    finally:
        server.stop()
    stored = AnswerStore(folder, study).answers()
    assert [(a.image_id, a.truth, a.answer) for a in stored] == given
    assert {a.rater for a in stored} == {"Grace <b>H</b>"}
    wrong_fake = sum(1 for _, t, a in given if t == "fake" and a != t) / (PER_RATER // 2)
    wrong_real = sum(1 for _, t, a in given if t == "real" and a != t) / (PER_RATER // 2)
    (score,) = study_results(folder).runs
    assert score.error_rate == pytest.approx((wrong_fake + wrong_real) / 2) and score.error_rate > 0


def test_report_and_comparison_plots_load_in_chromium(browser, tmp_path):
    runs = []
    for seed in (0, 1):
        out = tmp_path / f"run{seed}"
        train(tiny_config(steps=4, seed=seed, eval_every=2, eval_n=32, sample_every=2), out, progress=False)
        runs.append(out)
    pages = [api.report(runs[0]), api.compare(runs, tmp_path / "cmp.html")]
    for page in pages:
        browser.get(page.resolve().as_uri())
        sizes = browser.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]);")
        assert sizes and all(done and w > 0 and h > 0 for done, w, h in sizes), (page, sizes)
