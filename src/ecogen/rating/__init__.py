"""Human evaluation: HYPE-infinity rating studies (frozen images, a web page, SQLite answers, scores)."""

from ecogen.rating.results import StudyResults, answers_csv, study_results
from ecogen.rating.scoring import RaterRow, RunScore, rater_rows, score_runs
from ecogen.rating.store import AnswerStore
from ecogen.rating.study import Study, create_study, load_study

__all__ = ["AnswerStore", "StudyResults", "answers_csv", "study_results", "RaterRow", "RunScore", "Study", "create_study", "load_study", "rater_rows", "score_runs"]
