"""Hostile or clumsy input: each class of failure is refused at its root, in one line, losing nothing."""

import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from ecogen.config import TrainConfig, from_dict, load_yaml
from ecogen.data.reader import load_image
from ecogen.errors import ConfigError, DataError
from ecogen.rundir import RunDir

from conftest import run_cli

TINY = ["--data", "digits", "--image-size", "16", "--width-mult", "0.25", "--latent-dim", "16", "--batch-size", "32"]


def _one_line_error(proc, fragment=""):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert fragment in proc.stderr


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("payload", [
    _png_claiming(30000, 30000),  # decompression bomb
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00",  # truncated IHDR
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # broken PNG
    b"not an image at all",
])
def test_the_image_reader_turns_every_bad_file_into_a_data_error(tmp_path, payload):
    path = tmp_path / "bad.png"
    path.write_bytes(payload)
    with pytest.raises(DataError, match="bad.png"):
        load_image(path)


def test_large_images_are_refused_from_their_header(tmp_path):
    Image.new("L", (8000, 6000)).save(tmp_path / "big.png")  # 48 Mpx
    with pytest.raises(DataError, match="8000x6000 pixels is more than ecogen reads"):
        load_image(tmp_path / "big.png")


def test_16_bit_and_float_images_are_scaled_not_clipped(tmp_path):
    Image.fromarray(np.full((4, 4), 32768, np.uint16)).save(tmp_path / "mid16.png")
    assert np.asarray(load_image(tmp_path / "mid16.png")).mean() == pytest.approx(128, abs=1)
    Image.fromarray(np.full((4, 4), 0.5, np.float32), "F").save(tmp_path / "half.tif")
    assert np.asarray(load_image(tmp_path / "half.tif")).mean() == pytest.approx(128, abs=1)


def test_cli_refuses_a_bomb_in_a_training_folder_in_one_line(tmp_path):
    (tmp_path / "imgs").mkdir()
    Image.new("L", (16, 16)).save(tmp_path / "imgs" / "ok.png")
    (tmp_path / "imgs" / "bomb.png").write_bytes(_png_claiming(30000, 30000))
    _one_line_error(run_cli("train", "--data", f"folder:{tmp_path / 'imgs'}", "--out", str(tmp_path / "r")),
                    "bomb.png")


@pytest.mark.parametrize("args, fragment", [
    (["--lr-g", "inf"], "optim.lr_g"),
    (["--carbon-intensity", "inf"], "energy.carbon_intensity"),
    (["--image-size", "65536"], "data.image_size"),
    (["--width-mult", "10000"], "model.width_mult"),
    (["--latent-dim", "1000000000"], "model.latent_dim"),
    (["--d-steps", "1000000000"], "d_steps"),
])
def test_clumsy_training_values_are_refused_before_anything_runs(tmp_path, args, fragment):
    _one_line_error(run_cli("train", *TINY, *args, "--out", str(tmp_path / "r")), fragment)
    assert not (tmp_path / "r").exists()


def test_yaml_aliases_and_huge_files_are_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    (tmp_path / "laughs.yaml").write_text(bomb)
    with pytest.raises(ConfigError, match="aliases"):
        load_yaml(tmp_path / "laughs.yaml")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000)
    with pytest.raises(ConfigError, match="deep.yaml"):
        load_yaml(tmp_path / "deep.yaml")


def test_error_messages_do_not_echo_huge_inputs():
    with pytest.raises(ConfigError) as err:
        from_dict(TrainConfig, {"batch_size": "x" * 100_000})
    assert len(str(err.value)) < 300


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    out = tmp_path / "nan"
    proc = run_cli("train", *TINY, "--steps", "6", "--checkpoint-every", "2", "--lr-g", "1e38", "--lr-d", "1e38",
                   "--out", str(out), "--quiet", "--json")
    assert proc.returncode == 3 and "diverged" in proc.stderr, proc.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["stop_reason"] == "diverged" and record["step"] <= 3
    from ecogen import load

    for path in (out / "checkpoints").glob("*.json"):  # what was kept is finite
        gen = load(out, checkpoint=int(path.stem.split("_")[1]))
        assert all(bool(p.isfinite().all()) for p in gen.modules.parameters())


def test_a_run_folder_has_one_writer(tmp_path):
    run = RunDir(tmp_path / "run")
    with run.lock():
        proc = run_cli("train", *TINY, "--steps", "2", "--out", str(run.root))
        _one_line_error(proc, "in use by another ecogen run")
        assert not run.config.exists()  # nothing was written by the refused run
    with run.lock():  # released on exit, also after a crash (the kernel drops it with the process)
        pass


@pytest.mark.parametrize("args, fragment", [
    (["transform", "corrupt", "--input", "IN", "--out", "OUT", "--size", "0"], "--size"),
    (["transform", "corrupt", "--input", "IN", "--out", "OUT", "--size", "100000"], "--size"),
])
def test_clumsy_transform_values(tmp_path, args, fragment):
    Image.new("L", (16, 16)).save(tmp_path / "in.png")
    args = [str(tmp_path / "in.png") if a == "IN" else str(tmp_path / "o.png") if a == "OUT" else a for a in args]
    _one_line_error(run_cli(*args), fragment)


def test_npz_with_nan_or_wild_labels_is_refused(tmp_path):
    np.savez(tmp_path / "nan.npz", x=np.full((4, 8, 8), np.nan, np.float32))
    np.savez(tmp_path / "labels.npz", x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, -5, 2]))
    from ecogen.data import load_source

    with pytest.raises(DataError, match="finite"):
        load_source(f"npz:{tmp_path / 'nan.npz'}", 8)
    with pytest.raises(DataError, match="labels must be"):
        load_source(f"npz:{tmp_path / 'labels.npz'}", 8)


def test_compose_background_and_positions_are_validated(tmp_path):
    from ecogen.compose import parse_spec

    with pytest.raises(ConfigError, match="background"):
        parse_spec({"canvas": {"background": [300, -5, 1000]}, "elements": []})
    with pytest.raises(ConfigError, match="x"):
        parse_spec({"elements": [{"source": "seed", "x": float("nan"), "y": 1}]})


def test_unexpected_errors_show_a_traceback_and_ask_for_a_report(tmp_path):
    """The boundary hides nothing it does not understand."""
    code = ("import sys, ecogen.cli as c\n"
            "def boom(): raise ZeroDivisionError('x')\n"
            "c.app = boom\nc.main()\n")
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "please report" in proc.stderr


def test_resume_refuses_options_it_would_ignore(tiny_run):
    for extra in (["--recipe", "green"], ["--print-config"], ["--overwrite"], ["--out", "elsewhere"]):
        _one_line_error(run_cli("train", "--resume", str(tiny_run), *extra), "cannot be used with it")


def test_resume_passes_over_a_damaged_newest_checkpoint(tmp_path):
    from ecogen import api
    from conftest import tiny_config

    out = tmp_path / "run"
    api.train(tiny_config(steps=4, checkpoint_every=2, keep_checkpoints=5), out, progress=False)
    newest = sorted((out / "checkpoints").glob("*.safetensors"))[-1]
    newest.write_bytes(newest.read_bytes()[:-7])
    (out / "checkpoints" / ".step_00000009.safetensors.abc.tmp").write_bytes(b"left by a kill")
    proc = run_cli("train", "--resume", str(out), "--steps", "6", "--quiet", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "passed over step_00000004.json" in proc.stderr and json.loads(proc.stdout)["step"] == 6
    assert not list((out / "checkpoints").glob("*.tmp"))


def test_a_run_killed_before_its_first_checkpoint_can_be_resumed(tmp_path):
    from ecogen import api
    from conftest import tiny_config

    out = tmp_path / "run"
    api.train(tiny_config(steps=2), out, progress=False)
    import shutil

    shutil.rmtree(out / "checkpoints")
    (out / "run.json").unlink()
    proc = run_cli("train", "--resume", str(out), "--quiet", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["step"] == 2


def test_deleting_the_bill_does_not_silently_restart_it(tmp_path):
    from ecogen import api
    from conftest import tiny_config

    out = tmp_path / "run"
    api.train(tiny_config(steps=2), out, progress=False)
    (out / "run.json").unlink()
    _one_line_error(run_cli("train", "--resume", str(out), "--steps", "4"), "run.json is missing")


def test_writers_never_follow_links_out_of_the_run_folder(tmp_path):
    from ecogen import api
    from conftest import tiny_config

    out, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    api.train(tiny_config(steps=2), out, progress=False)
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep")
    import shutil

    shutil.rmtree(out / "samples")
    (out / "samples").symlink_to(elsewhere)
    _one_line_error(run_cli("train", "--resume", str(out), "--steps", "4"), "samples is a link")
    _one_line_error(run_cli("train", *TINY, "--steps", "2", "--out", str(out), "--overwrite"), "samples is a link")
    assert (elsewhere / "precious.txt").read_text() == "keep" and (out / "config.yaml").exists()


def test_sample_output_typos_and_jpeg_receipts(tiny_run, tmp_path):
    _one_line_error(run_cli("sample", str(tiny_run), "--n", "4", "--out", str(tmp_path / "grid.pgn")), ".pgn")
    assert not (tmp_path / "grid.pgn").exists()
    proc = run_cli("sample", str(tiny_run), "--n", "4", "--out", str(tmp_path / "g.jpg"))
    assert proc.returncode == 0, proc.stderr
    from ecogen.api import read_receipt

    assert read_receipt(tmp_path / "g.jpg")["images"] == 4


def test_contention_is_recorded_with_the_bill(tiny_run):
    record = json.loads((tiny_run / "run.json").read_text())
    seen = record["machine"]["contention"]
    assert set(seen) == {"load_1min", "usable_cores", "steal_share", "busy"} and seen["usable_cores"] >= 1


def test_a_checkpoint_without_its_noise_state_is_refused_on_resume(tmp_path):
    from ecogen import api
    from conftest import tiny_config
    from safetensors.torch import load_file, save_file

    out = tmp_path / "run"
    api.train(tiny_config(steps=2), out, progress=False)
    meta_path = sorted((out / "checkpoints").glob("*.json"))[-1]
    tensors_path = meta_path.with_suffix(".safetensors")
    tensors = {k: v for k, v in load_file(str(tensors_path)).items() if k != "rng.noise"}
    save_file(tensors, str(tensors_path))
    meta = json.loads(meta_path.read_text())
    from ecogen.checkpoint import sha256

    meta["sha256"] = sha256(tensors_path)
    meta_path.write_text(json.dumps(meta))
    before = (out / "config.yaml").read_text()
    _one_line_error(run_cli("train", "--resume", str(out), "--steps", "4"), "rng.noise")
    assert (out / "config.yaml").read_text() == before


def test_a_huge_scaled_element_is_refused(tmp_path):
    Image.new("L", (1000, 1000), 255).save(tmp_path / "big.png")
    spec = tmp_path / "s.yaml"
    spec.write_text(f"canvas: {{width: 64, height: 64}}\nelements:\n  - {{source: image, path: {tmp_path / 'big.png'}, "
                    f"x: 8, y: 8, scale: 64}}\n")
    _one_line_error(run_cli("compose", "--spec", str(spec), "--out", str(tmp_path / "o.png")), "smaller scale")


def test_an_exploding_but_finite_loss_is_divergence_too(tmp_path):
    proc = run_cli("train", *TINY, "--steps", "8", "--lr-g", "1000", "--lr-d", "1000", "--out", str(tmp_path / "r"),
                   "--quiet")
    assert proc.returncode == 3 and "diverged" in proc.stderr, proc.stderr[-500:]


def test_a_runs_own_threads_do_not_make_the_machine_look_busy():
    from ecogen.energy.machine import crowded

    assert not crowded(2.01, 2, own=1.95)  # a 2-thread run alone on 2 cores: its own threads are the load
    assert crowded(3.0, 2, own=1.33)  # the same run with one more busy process beside it
    assert crowded(2.2, 2, own=1.0)  # a 1-thread run, and more than the free core's worth of others
    assert crowded(2.5, 2) and not crowded(1.5, 2)  # no own threads: the load against the cores
