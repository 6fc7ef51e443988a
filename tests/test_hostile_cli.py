"""The CLI as a clumsy user meets it: paths that look like Rich markup, seeds past 64 bits, torn and
mistyped JSON-lines logs, schemas with gaps, and a GAN whose discriminator wins outright. Each case is one
line and exit 2 (3 for a failed run), no traceback, and nothing already written is changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from ecogen import checkpoint

from conftest import run_cli

TINY = ["--data", "digits", "--image-size", "16", "--width-mult", "0.25", "--latent-dim", "16", "--batch-size", "16",
        "--device", "cpu", "--quiet", "--log-every", "2", "--sample-every", "4", "--checkpoint-every", "4"]
HUGE = str(2**64 + 1)


def _one_line(result, code: int = 2, message: str | None = None) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and "Traceback" not in result.stderr and lines[-1].startswith("error:"), result.stderr
    if code == 2:
        assert len(lines) == 1, result.stderr
    if message:
        assert message in result.stderr, result.stderr


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def markup_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("markup") / "a[/]b[red]c"
    root.mkdir(parents=True)  # "a[" then "]b[red]c": the path holds "[/]" all the same
    result = run_cli("train", *TINY, "--steps", "4", "--eval-every", "4", "--eval-n", "32", "--out", str(root / "run"))
    assert result.returncode == 0, result.stderr
    assert "a[/]b[red]c" in result.stdout  # printed as the text it is, [red] included
    return root / "run"


def test_paths_that_look_like_markup_print_as_text_in_every_command(markup_run):
    root = markup_run.parent
    grid = root / "g.png"
    steps = [
        ("sample", str(markup_run), "--n", "4", "--out", str(grid)),
        ("receipt", str(grid)),
        ("energy", str(markup_run)),
        ("eval", str(markup_run), "--n", "32", "--metrics", "fid", "--no-reference", "--quiet"),
        ("export", str(markup_run), "--out", str(root / "g.safetensors")),
        ("report", str(markup_run), "--out", str(root / "r.html")),
        ("compare", str(markup_run), str(markup_run), "--out", str(root / "c.html")),
        ("train", "--resume", str(markup_run), "--steps", "6", "--quiet"),
        ("rate", "new", str(root / "s"), "--run", str(markup_run), "--per-rater", "4"),
        ("compose", "--text", "12", "--model", str(markup_run), "--out", str(root / "k.png")),
        ("transform", "corrupt", "--input", str(grid), "--out", str(root / "n.png")),
        ("transform", "reconstruct", str(markup_run), "--input", str(root / "n.png"), "--steps", "2",
         "--out", str(root / "m.png")),
    ]
    for args in steps:
        result = run_cli(*args)
        if args[0] == "compose":  # an unconditional model cannot draw classes: a one-line refusal, not a crash
            _one_line(result)
            continue
        assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stderr)
        assert "[/]" in result.stdout + result.stderr, (args, result.stdout)


@pytest.mark.parametrize("args", [
    ("sample", "RUN", "--seed", HUGE, "--out", "x.png"),
    ("train", *TINY, "--seed", HUGE, "--out", "fresh"),
    ("train", *TINY, "--split-seed", HUGE, "--out", "fresh"),
])
def test_seeds_past_the_schema_are_one_line(markup_run, tmp_path, args):
    args = [str(markup_run) if a == "RUN" else str(tmp_path / a) if a in ("x.png", "fresh") else a for a in args]
    _one_line(run_cli(*args))
    assert not (tmp_path / "fresh").exists() and not (tmp_path / "x.png").exists()


def test_a_seed_past_64_bits_in_a_config_or_a_compose_spec_is_one_line(markup_run, tmp_path):
    (tmp_path / "c.yaml").write_text(f"seed: {HUGE}\n")
    _one_line(run_cli("train", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "r")), message="seed")
    spec = {"canvas": {"width": 32, "height": 32}, "elements": [{"source": "seed", "seed": 2**64, "x": 0, "y": 0}]}
    (tmp_path / "s.json").write_text(json.dumps(spec))
    _one_line(run_cli("compose", "--spec", str(tmp_path / "s.json"), "--model", str(markup_run),
                      "--out", str(tmp_path / "o.png")), message="seed")


@pytest.mark.parametrize("text, message", [
    ("steps: 2\nsteps: 1000000\n", "given twice"),
    ("steps: true\n", "steps"),
    ("steps: 1000000000000000000000000000000\n", "steps"),
    ("epochs: '5'\n", "epochs"),
])
def test_config_gaps_are_closed(tmp_path, text, message):
    (tmp_path / "c.yaml").write_text(text)
    _one_line(run_cli("train", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "r")), message=message)
    assert not (tmp_path / "r").exists()


def test_a_receipt_that_is_a_list_is_one_line(tmp_path):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("ecogen:receipt", "[1, 2, 3]")
    Image.new("L", (4, 4)).save(tmp_path / "x.png", pnginfo=info)
    _one_line(run_cli("receipt", str(tmp_path / "x.png")), message="not a JSON object")


def _copy_run(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _tamper(run: Path, change) -> Path:
    """Rewrite the newest checkpoint's tensors with ``change`` and fix its hash, as a hand-made file would."""
    record = checkpoint.list_checkpoints(run / "checkpoints")[-1]
    tensors_path = record.with_suffix(".safetensors")
    tensors = change(load_file(str(tensors_path)))
    save_file(tensors, str(tensors_path), metadata={"format": "ecogen.checkpoint"})
    meta = json.loads(record.read_text())
    meta["sha256"] = checkpoint.sha256(tensors_path)
    record.write_text(json.dumps(meta))
    return record


def test_integer_weights_and_absurd_steps_are_refused(tiny_run, tmp_path):
    run = _copy_run(tiny_run, tmp_path / "int")
    _tamper(run, lambda t: {k: v.to(torch.int32) if v.is_floating_point() else v for k, v in t.items()})
    before = _snapshot(run)
    _one_line(run_cli("sample", str(run), "--n", "4", "--out", str(tmp_path / "x.png")), message="int32")
    run2 = _copy_run(tiny_run, tmp_path / "step")
    record = checkpoint.list_checkpoints(run2 / "checkpoints")[-1]
    meta = json.loads(record.read_text())
    meta["step"] = 10**30
    record.write_text(json.dumps(meta))
    _one_line(run_cli("sample", str(run2), "--n", "4", "--out", str(tmp_path / "y.png")), message="step")
    assert _snapshot(run) == before and not (tmp_path / "x.png").exists()


def test_a_linked_checkpoint_record_is_passed_over_with_a_notice(tiny_run, tmp_path):
    run = _copy_run(tiny_run, tmp_path / "link")
    records = checkpoint.list_checkpoints(run / "checkpoints")
    newest = records[-1]
    outside = tmp_path / "outside.json"
    outside.write_bytes(newest.read_bytes())
    newer = newest.with_name(f"step_{int(newest.stem.split('_')[1]) + 1:08d}.json")
    newer.symlink_to(outside)
    result = run_cli("train", "--resume", str(run), "--steps", "8", "--quiet")
    assert result.returncode == 0, result.stderr
    assert f"passed over {newer.name}: a link" in result.stderr


def test_a_torn_log_line_and_a_mistyped_check_are_skipped_and_said(tiny_run, tmp_path):
    run = _copy_run(tiny_run, tmp_path / "torn")
    with open(run / "log.jsonl", "a") as handle:
        handle.write('{"step": 7, "loss_d": 0.5, "wh": 0.0')  # a kill mid-append: no closing brace, no newline
    (run / "eval.jsonl").write_text('{"step": 2, "wh": 0.001, "fid": "abc"}\n{"step": 4, "wh": 0.002, "fid": 9.5}\n')
    result = run_cli("train", "--resume", str(run), "--steps", "8", "--quiet")
    assert result.returncode == 0, result.stderr
    lines = (run / "log.jsonl").read_text().splitlines()
    assert lines[-2] == '{"step": 7, "loss_d": 0.5, "wh": 0.0' and json.loads(lines[-1])["step"] == 8  # own line
    assert run_cli("report", str(run)).returncode == 0
    page = (run / "report.html").read_text()
    assert "log.jsonl: 1 damaged line skipped" in page and "eval.jsonl: 1 damaged line skipped" in page
    assert "FID 9.50 at step 4" in page
    result = run_cli("compare", str(run), str(tiny_run), "--out", str(tmp_path / "c.html"))
    assert result.returncode == 0, result.stderr
    assert "eval.jsonl: 1 damaged line skipped" in (tmp_path / "c.html").read_text()


def test_a_collapsed_gan_exits_3_and_says_what_was_kept(tmp_path):
    """--lr-g 10 --lr-d 10: D's loss pins at 0 within a few dozen steps; before any checkpoint there is
    none to keep, after some the last good one stays the latest."""
    bad = ["--lr-g", "10", "--lr-d", "10", "--steps", "300"]
    result = run_cli("train", *TINY, *bad, "--checkpoint-every", "1000", "--out", str(tmp_path / "early"))
    _one_line(result, code=3, message="collapsed")
    assert "no checkpoint had been saved yet" in result.stderr and "last good" not in result.stderr
    assert json.loads((tmp_path / "early" / "run.json").read_text())["stop_reason"] == "collapsed"
    result = run_cli("train", *TINY, *bad, "--out", str(tmp_path / "late"))
    _one_line(result, code=3, message="the last good checkpoint is kept")
    step = json.loads((tmp_path / "late" / "run.json").read_text())["step"]
    kept = [checkpoint.read(p).step for p in checkpoint.list_checkpoints(tmp_path / "late" / "checkpoints")]
    assert kept and max(kept) < step  # nothing of the collapsed model was saved as the latest
