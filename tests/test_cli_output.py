"""What a person reads from the CLI: version, receipts, bills side by side, where a run goes."""

import json

from conftest import run_cli


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("ecogen ")


def test_receipt_as_a_table_and_as_json(tiny_run, tmp_path):
    assert run_cli("sample", str(tiny_run), "--n", "2", "--out", str(tmp_path / "s")).returncode == 0
    image = tmp_path / "s" / "000001.png"
    data = json.loads(run_cli("receipt", str(image), "--json").stdout)
    assert len(data["model_sha256"]) == 64 and data["images"] == 1
    table = run_cli("receipt", str(image)).stdout
    assert data["model_sha256"] in table.replace("\n", "").replace(" ", "").replace("│", "")  # never cut


def test_energy_of_several_runs_side_by_side(tiny_run, gan_run):
    proc = run_cli("energy", str(tiny_run), str(gan_run))
    assert proc.returncode == 0, proc.stderr
    assert "side by side" in proc.stdout and "per training image" in proc.stdout
    both = json.loads(run_cli("energy", str(tiny_run), str(gan_run), "--json").stdout)
    assert isinstance(both, list) and len(both) == 2


def test_user_given_intensity_is_called_so(tmp_path):
    out = tmp_path / "r"
    proc = run_cli("train", "--data", "digits", "--image-size", "16", "--width-mult", "0.25", "--steps", "2",
                   "--carbon-intensity", "56", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "user-given" in proc.stdout and "world mean" not in proc.stdout


def test_a_config_without_out_says_where_the_run_goes(tmp_path):
    (tmp_path / "run.yaml").write_text("data:\n  source: digits\n  image_size: 16\nsteps: 1\nmodel:\n  width_mult: 0.25\n")
    proc = run_cli("train", "--config", str(tmp_path / "run.yaml"), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "the run goes to runs/default" in proc.stderr and (tmp_path / "runs" / "default" / "run.json").is_file()


def test_a_missed_target_still_shows_the_best_check(tmp_path):
    out = tmp_path / "r"
    proc = run_cli("train", "--data", "digits", "--image-size", "16", "--width-mult", "0.25", "--steps", "4",
                   "--eval-every", "2", "--eval-n", "20", "--target-fid", "0.0001", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "best check: fid" in proc.stdout and "not reached" in proc.stdout
    assert run_cli("sample", str(out), "--checkpoint", "best", "--n", "4", "--out", str(tmp_path / "b.png")).returncode == 0


def test_digit_features_are_refused_for_colour_images(tmp_path):
    import numpy as np
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.fromarray(np.full((16, 16, 3), (i * 40, 10, 200), np.uint8)).save(tmp_path / name / f"{i}.png")
    proc = run_cli("eval", "--real", f"folder:{tmp_path / 'a'}", "--fake", f"folder:{tmp_path / 'b'}", "--extractor",
                   "mnist", "--metrics", "fid", "--no-reference")
    assert proc.returncode == 2 and "--extractor inception" in proc.stderr
    proc = run_cli("eval", "--real", f"folder:{tmp_path / 'a'}", "--fake", f"folder:{tmp_path / 'b'}", "--metrics",
                   "fid", "--no-reference", "--json")  # the default, auto, picks the colour features
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["extractor"] == "emoji"


def test_each_receipt_names_its_image_and_sample_index_redraws_it(tiny_run, tmp_path):
    import numpy as np
    from PIL import Image

    assert run_cli("sample", str(tiny_run), "--n", "5", "--seed", "3", "--out", str(tmp_path / "all")).returncode == 0
    receipts = [json.loads(run_cli("receipt", str(p), "--json").stdout) for p in sorted((tmp_path / "all").iterdir())]
    assert [r["index"] for r in receipts] == [0, 1, 2, 3, 4] and {r["seed"] for r in receipts} == {3}
    proc = run_cli("sample", str(tiny_run), "--n", "1", "--seed", "3", "--index", "3", "--out", str(tmp_path / "one"))
    assert proc.returncode == 0, proc.stderr
    again = np.asarray(Image.open(tmp_path / "one" / "000003.png"), dtype=int)
    first = np.asarray(Image.open(tmp_path / "all" / "000003.png"), dtype=int)
    assert np.abs(again - first).max() <= 1  # the same image (a batch of 1 may round one level differently)
