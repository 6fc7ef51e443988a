"""The CLI as a user runs it: real processes, exit codes, one-line errors, nothing lost."""

import json
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from conftest import run_cli

TINY = ["--data", "digits", "--image-size", "16", "--width-mult", "0.25", "--latent-dim", "16", "--batch-size", "32"]


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr


def test_train_resume_and_sample_end_to_end(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("train", *TINY, "--steps", "4", "--out", str(out), "--quiet", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["step"] == 4
    proc = run_cli("train", "--resume", str(out), "--steps", "6", "--quiet", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["step"] == 6
    proc = run_cli("sample", str(out), "--n", "10", "--seed", "0", "--out", str(tmp_path / "grid.png"))
    assert proc.returncode == 0 and Image.open(tmp_path / "grid.png").size == (4 * 18 + 2, 3 * 18 + 2)
    proc = run_cli("sample", str(out), "--n", "3", "--out", str(tmp_path / "each"))
    assert proc.returncode == 0 and len(list((tmp_path / "each").glob("*.png"))) == 3


def test_config_file_with_overrides_and_print_config(tmp_path):
    (tmp_path / "run.yaml").write_text("loss: hinge\nmodel:\n  width_mult: 0.5\n")
    proc = run_cli("train", "--config", str(tmp_path / "run.yaml"), "--batch-size", "16", "--print-config")
    assert proc.returncode == 0, proc.stderr
    assert "loss: hinge" in proc.stdout and "width_mult: 0.5" in proc.stdout and "batch_size: 16" in proc.stdout
    (tmp_path / "bad.yaml").write_text("model:\n  widthmult: 0.5\n")
    assert_user_error(run_cli("train", "--config", str(tmp_path / "bad.yaml")), "model.widthmult: unknown option")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "cifar"], "unknown dataset 'cifar'"),
        (["--model", "stylegan"], "unknown model 'stylegan'"),
        (["--loss", "wgan"], "unknown loss 'wgan'"),
        (["--preset", "huge"], "unknown preset 'huge'"),
        (["--data", "folder:/no/such/folder"], "folder not found: /no/such/folder"),
        (["--data", "npz:/no/such.npz"], "file not found"),
        (["--image-size", "0"], "data.image_size"),
        (["--image-size", "-8"], "data.image_size"),
        (["--image-size", "30"], "image_size: 30"),
        (["--epochs", "0"], "epochs"),
        (["--epochs", "-3"], "epochs"),
        (["--batch-size", "0"], "batch_size"),
        (["--batch-size", "60000"], "exceeds"),
        (["--config", "/no/such.yaml"], "config file not found"),
        (["--device", "cuda:7"], "cuda:7"),
    ],
)
def test_bad_train_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = run_cli("train", *args, "--out", str(tmp_path / "run"), "--quiet")
    assert_user_error(proc, message)
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_empty_folder_and_unreadable_image(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_user_error(run_cli("train", "--data", f"folder:{tmp_path / 'empty'}"), "no images in")
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "bad.png").write_text("this is text")
    assert_user_error(run_cli("train", "--data", f"folder:{tmp_path / 'imgs'}"), "bad.png")


def test_existing_run_is_kept(tiny_run):
    before = {p: p.read_bytes() for p in tiny_run.rglob("*") if p.is_file()}
    assert_user_error(run_cli("train", *TINY, "--steps", "2", "--out", str(tiny_run)), "already holds a run")
    assert {p: p.read_bytes() for p in tiny_run.rglob("*") if p.is_file()} == before


def test_missing_corrupt_and_foreign_runs(tmp_path, tiny_run):
    assert_user_error(run_cli("sample", str(tmp_path / "nothing")), "run folder not found")
    assert_user_error(run_cli("train", "--resume", str(tmp_path / "nothing")), "run folder not found")
    foreign = tmp_path / "foreign"
    (foreign / "checkpoints").mkdir(parents=True)
    (foreign / "checkpoints" / "step_00000001.json").write_text('{"some": "other tool"}')
    assert_user_error(run_cli("sample", str(foreign)), "not an ecogen checkpoint")
    corrupt = tmp_path / "corrupt"
    import shutil

    shutil.copytree(tiny_run, corrupt)
    for tensors in (corrupt / "checkpoints").glob("*.safetensors"):
        tensors.write_bytes(tensors.read_bytes()[:100])
    assert_user_error(run_cli("sample", str(corrupt)), "corrupt or replaced")
    assert_user_error(run_cli("train", "--resume", str(corrupt), "--steps", "20"), "corrupt or replaced")


def test_sample_refuses_bad_counts_and_existing_files(tiny_run, tmp_path):
    assert_user_error(run_cli("sample", str(tiny_run), "--n", "0", "--out", str(tmp_path / "g.png")), "n: must be > 0")
    (tmp_path / "g.png").write_bytes(b"keep me")
    assert_user_error(run_cli("sample", str(tiny_run), "--out", str(tmp_path / "g.png")), "already exists")
    assert (tmp_path / "g.png").read_bytes() == b"keep me"


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ecogen", "train", *TINY, "--steps", "100000", "--log-every", "1", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "log.jsonl").exists() or len((out / "log.jsonl").read_text().splitlines()) < 3:
        assert time.time() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else "timeout"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "checkpoint saved" in stdout
    ckpt = json.loads(sorted((out / "checkpoints").glob("*.json"))[-1].read_text())
    assert ckpt["stop_reason"] == "interrupted" and 3 <= ckpt["step"] < 100000
    proc = run_cli("train", "--resume", str(out), "--steps", str(ckpt["step"] + 2), "--quiet", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["step"] == ckpt["step"] + 2


def test_every_json_command_prints_one_json_document_on_stdout(tmp_path):
    """Progress bars and notices go to stderr, so `--json > file` always parses (no --quiet here)."""
    out = tmp_path / "run"
    for args in (["train", *TINY, "--steps", "4", "--out", str(out), "--json"],
                 ["train", "--resume", str(out), "--steps", "6", "--json"],
                 ["eval", str(out), "--n", "20", "--metrics", "fid,kid", "--json"],
                 ["eval", "--real", "digits", "--fake", "digits", "--n", "30", "--metrics", "fid", "--json"],
                 ["energy", str(out), "--json"]):
        proc = run_cli(*args)
        assert proc.returncode == 0, proc.stderr
        assert isinstance(json.loads(proc.stdout), dict), args
