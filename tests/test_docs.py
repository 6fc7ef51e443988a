"""Every command block in README.md and docs/*.md runs, in order, as written: a new user's first hour.

Each file's blocks run top to bottom in one fresh folder (``docs/`` is visible in it, for the example
specs), through the real CLI in this process and ``exec`` for Python blocks. Sizes are made small by
the rules in ``shrink`` (fewer steps and images), never by editing what a block asks for otherwise.
Lines with ``...`` are templates and are skipped; a block preceded by ``<!-- docs-test: skip (why) -->``
is skipped whole (``make demo`` and ``make test`` are what CI itself runs).
"""

from __future__ import annotations

import os
import re
import shlex
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecogen.cli import app

REPO = Path(__file__).resolve().parents[1]
FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SKIP = "<!-- docs-test: skip"
SHELL_LANGS = {"", "bash", "sh", "shell", "console"}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    lang: str
    lines: list[str]


def blocks(path: Path) -> list[Block]:
    """The fenced blocks to run: shell blocks of ecogen commands, and Python blocks."""
    found, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            lang, start = lines[i][3:].strip(), i
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
            body = lines[start + 1 : end]
            if not before.startswith(SKIP) and (lang == "python" or (lang in SHELL_LANGS and _commands(body))):
                found.append(Block(path, start + 1, lang, body))
            i = end
        i += 1
    return found


def _commands(body: list[str]) -> bool:
    """A shell block is one whose lines are commands (a folder tree or a table is not)."""
    return any(_words(line) for line in body)


def _words(line: str) -> list[str]:
    words = shlex.split(line, comments=True)
    if words and words[0] in (".venv/bin/ecogen", "ecogen"):
        return words[1:]
    return []


def shrink(args: list[str]) -> list[str]:
    """The same command at test size: two epochs become one step, image counts (given or default) at most 8,
    quality checks every 5 steps on 32 images (also in the checks a plan probes), an extractor trains for one
    epoch."""
    out, i = [], 0
    while i < len(args):
        flag, value = args[i], args[i + 1] if i + 1 < len(args) else None
        if flag == "--epochs":
            out += ["--steps", str(max(1, int(value) // 2)) if args[0] == "train" else "1"]
        elif flag == "--n":
            out += ["--n", str(min(int(value), 8))]
        elif flag == "--eval-every":
            out += ["--eval-every", "5", "--eval-n", "32"]
        else:
            out.append(flag)
            i += 1
            continue
        i += 2
    training = args[:1] == ["train"] and "--print-config" not in args
    if training and not {"--epochs", "--steps", "--resume"} & set(args):
        out += ["--steps", "2"]  # recipes give their own epochs: cut them too
    if (training or args[:1] == ["plan"]) and not {"--eval-every", "--eval-n", "--resume"} & set(args):
        out += ["--eval-n", "32"]  # and their own check sizes (quality: 1,000 images; a plan probes three checks)
    if args[:1] == ["eval"] and "--n" not in args and "--real" not in args:
        out += ["--n", "8"]  # a run's evaluation draws 1,000 images by default
    if args[:2] == ["extractor", "train"] and "--epochs" not in args:
        out += ["--epochs", "1"]
    return out


SERVERS = (["rate", "serve"],)  # run until Ctrl-C: tests/test_rating.py and test_browser.py start them


def run_shell(block: Block, runner: CliRunner) -> None:
    for offset, line in enumerate(block.lines, start=1):
        words = _words(line)
        if not words or "..." in words or words[:2] in SERVERS:
            continue
        target = None
        if ">" in words:  # stdout to a file, as the shell would
            at = words.index(">")
            words, target = words[:at], words[at + 1]
        result = runner.invoke(app, shrink(words))
        if result.exit_code != 0:
            where = f"{block.path.name}:{block.line + offset}"
            detail = "".join(traceback.format_exception(result.exc_info[1])) if result.exc_info else ""
            pytest.fail(f"{where}: `{line.strip()}` exited {result.exit_code}\n{result.output[-3000:]}\n{detail[-3000:]}")
        if target:
            Path(target).write_text(result.stdout)


def run_python(block: Block) -> None:
    code = "\n".join(block.lines)
    try:
        exec(compile(code, f"{block.path.name}:{block.line}", "exec"), {"__name__": "__docs__"})
    except Exception:  # noqa: BLE001  (the failing line, with its place in the doc)
        pytest.fail(f"{block.path.name} block at line {block.line} failed:\n{traceback.format_exc()[-3000:]}")


@pytest.mark.parametrize("path", [p for p in FILES if blocks(p)], ids=lambda p: p.name)
def test_every_documented_command_runs_as_written(path, tmp_path, monkeypatch):
    (tmp_path / "docs").symlink_to(REPO / "docs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("WANDB_MODE", "offline")  # docs/trackers.md: W&B never reaches the network here
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-home"))
    runner = CliRunner()
    for block in blocks(path):
        if block.lang == "python":
            run_python(block)
        else:
            run_shell(block, runner)


def test_the_rules_find_the_blocks_and_shrink_sizes():
    readme = blocks(REPO / "README.md")
    assert any(b.lang == "python" for b in readme)
    assert not any("make demo" in "\n".join(b.lines) for b in readme)  # marked skip: CI runs it
    assert shrink(["train", "--epochs", "5", "--n", "500"]) == ["train", "--steps", "2", "--n", "8", "--eval-n", "32"]
    assert shrink(["train", "--recipe", "green"]) == ["train", "--recipe", "green", "--steps", "2", "--eval-n", "32"]
    assert shrink(["train", "--print-config"]) == ["train", "--print-config"]
    assert shrink(["plan", "--model", "flow", "--epochs", "2"]) == ["plan", "--model", "flow", "--steps", "1", "--eval-n", "32"]
    assert os.path.isdir(REPO / "docs" / "examples")
    assert re.search(r"docs/examples/scene\.yaml", (REPO / "README.md").read_text())
