"""A study's results as one object, and its answers as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from pathlib import Path

from ecogen.base.atomic import write_text
from ecogen.rating.scoring import RaterRow, RunScore, rater_rows, score_runs
from ecogen.rating.store import Answer, AnswerStore
from ecogen.rating.study import load_study


@dataclass(frozen=True)
class StudyResults:
    study: str
    runs: list[RunScore]
    raters: list[RaterRow]
    answers: int


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet evaluates at the start of a cell


def _cell(value: object) -> object:
    """A text cell a spreadsheet shows as text: one that would start a formula gets a leading quote
    (OWASP's CSV-injection rule). Numbers stay numbers."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def answers_csv(answers: list[Answer]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(Answer.__dataclass_fields__))
    writer.writeheader()
    for answer in answers:
        writer.writerow({k: _cell(v) for k, v in asdict(answer).items()})
    return out.getvalue()


def study_results(folder: str | Path, csv_path: str | Path | None = None) -> StudyResults:
    study = load_study(folder)
    answers = AnswerStore(folder, study, readonly=True).answers()  # a read command writes nothing there
    if csv_path is not None:
        write_text(csv_path, answers_csv(answers))
    return StudyResults(str(folder), score_runs(study, answers), rater_rows(answers), len(answers))
