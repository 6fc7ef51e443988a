"""Answers in plain SQLite: each one committed the moment it arrives, so a crash or a restart loses none.

A rater is a name; their sequence of images is fixed when they first arrive (``rater_sequence``), and
their place in it is simply the first position without an answer, so a rater who reloads or comes back
resumes where they were.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ecogen.errors import EcogenError
from ecogen.rating.study import Study, rater_sequence

DB_FILE = "answers.sqlite"
ANSWERS = ("real", "fake")

SCHEMA = """
CREATE TABLE IF NOT EXISTS raters (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sequence (
    rater_id INTEGER NOT NULL REFERENCES raters(id), position INTEGER NOT NULL, image_id TEXT NOT NULL,
    shown_at REAL, PRIMARY KEY (rater_id, position));
CREATE TABLE IF NOT EXISTS answers (
    rater_id INTEGER NOT NULL REFERENCES raters(id), position INTEGER NOT NULL, image_id TEXT NOT NULL,
    source TEXT NOT NULL, truth TEXT NOT NULL, answer TEXT NOT NULL, shown_at REAL NOT NULL,
    answered_at REAL NOT NULL, PRIMARY KEY (rater_id, position));
"""


class Conflict(Exception):
    """A request that does not fit the rater's state (replayed or out of order): nothing is changed."""


@dataclass(frozen=True)
class Answer:
    rater: str
    position: int
    image_id: str
    source: str
    truth: str
    answer: str
    shown_at: float
    answered_at: float


TABLES = {"raters": ["id", "name", "created"], "sequence": ["rater_id", "position", "image_id", "shown_at"],
          "answers": ["rater_id", "position", "image_id", "source", "truth", "answer", "shown_at", "answered_at"]}


class AnswerStore:
    """``readonly`` (``rate results``): the file is opened read-only and never created or changed; a
    missing one holds no answers. Either way a damaged or foreign file is one EcogenError, before any write."""

    def __init__(self, folder: str | Path, study: Study, readonly: bool = False) -> None:
        self.path, self.study, self.readonly = Path(folder) / DB_FILE, study, readonly
        if readonly and not self.path.exists():
            return
        with self._db() as db:
            self._check(db)
            if not readonly:
                db.executescript(SCHEMA)

    def _check(self, db: sqlite3.Connection) -> None:
        """Our three tables with their columns, or nothing yet (a new file); anything else is not ours."""
        found = {name: [c[1] for c in db.execute(f"PRAGMA table_info({name})")] for (name,) in
                 db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if found and found != TABLES:
            raise EcogenError(f"{self.path}: not an ecogen answers file (tables {', '.join(sorted(found))[:80]}); "
                              f"move it away or use another study folder")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if self.path.is_symlink() or (self.path.exists() and not self.path.is_file()):
            raise EcogenError(f"{self.path}: not a regular file")
        try:
            uri = f"{self.path.resolve().as_uri()}?mode=ro" if self.readonly else str(self.path)
            with closing(sqlite3.connect(uri, timeout=10, uri=self.readonly)) as db:
                db.execute("PRAGMA foreign_keys = ON")
                with db:  # one transaction: committed on success, rolled back on any error
                    yield db
        except sqlite3.IntegrityError:
            raise  # a race between two requests: the caller turns it into a Conflict
        except sqlite3.DatabaseError as err:  # "file is not a database", a damaged page, a locked file
            raise EcogenError(f"{self.path}: cannot be read as an answers database ({err})") from None

    def rater(self, name: str) -> int:
        """The rater's id, registering them (and fixing their sequence) on first arrival; of two requests
        for one new name at once, the second finds the first's rater."""
        try:
            return self._rater(name)
        except sqlite3.IntegrityError:
            return self._rater(name)

    def _rater(self, name: str) -> int:
        with self._db() as db:
            row = db.execute("SELECT id FROM raters WHERE name = ?", (name,)).fetchone()
            if row:
                return int(row[0])
            rater_id = db.execute("INSERT INTO raters (name, created) VALUES (?, ?)", (name, time.time())).lastrowid
            db.executemany("INSERT INTO sequence (rater_id, position, image_id) VALUES (?, ?, ?)",
                           [(rater_id, k, image_id) for k, image_id in enumerate(rater_sequence(self.study, name))])
            return int(rater_id)

    def exists(self, rater_id: int) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM raters WHERE id = ?", (rater_id,)).fetchone() is not None

    def next_image(self, rater_id: int) -> tuple[int, str, int] | None:
        """(position, image id, total) of the rater's first unanswered image, marked shown now if it was not
        yet; None when they are done."""
        with self._db() as db:
            total = db.execute("SELECT COUNT(*) FROM sequence WHERE rater_id = ?", (rater_id,)).fetchone()[0]
            row = db.execute(
                "SELECT s.position, s.image_id FROM sequence s LEFT JOIN answers a "
                "ON a.rater_id = s.rater_id AND a.position = s.position "
                "WHERE s.rater_id = ? AND a.position IS NULL ORDER BY s.position LIMIT 1", (rater_id,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE sequence SET shown_at = ? WHERE rater_id = ? AND position = ? AND shown_at IS NULL",
                       (time.time(), rater_id, row[0]))
            return int(row[0]), str(row[1]), int(total)

    def answer(self, rater_id: int, position: int, image_id: str, answer: str) -> None:
        """Store one answer; a replay, an answer out of order or for another image raises Conflict."""
        if answer not in ANSWERS:
            raise ValueError(f"answer must be one of {ANSWERS}")
        try:
            self._answer(rater_id, position, image_id, answer)
        except sqlite3.IntegrityError:  # the same answer sent twice at once: the first one is stored
            raise Conflict("this image was already answered") from None

    def _answer(self, rater_id: int, position: int, image_id: str, answer: str) -> None:
        with self._db() as db:
            row = db.execute("SELECT image_id, shown_at FROM sequence WHERE rater_id = ? AND position = ?",
                             (rater_id, position)).fetchone()
            if row is None or row[0] != image_id or row[1] is None:
                raise Conflict("no such image shown to this rater at this position")
            done = db.execute("SELECT 1 FROM answers WHERE rater_id = ? AND position = ?",
                              (rater_id, position)).fetchone()
            if done:
                raise Conflict("this image was already answered")
            image = self.study.image(image_id)
            assert image is not None  # the sequence only holds the study's ids
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (rater_id, position, image_id, image.source, image.truth, answer, row[1], time.time()))

    def answers(self) -> list[Answer]:
        if self.readonly and not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute("SELECT r.name, a.position, a.image_id, a.source, a.truth, a.answer, a.shown_at, "
                              "a.answered_at FROM answers a JOIN raters r ON r.id = a.rater_id "
                              "ORDER BY r.name, a.position").fetchall()
        return [Answer(*row) for row in rows]
