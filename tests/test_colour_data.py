"""Colour data: the emoji font, CIFAR-10's binary files, and real-world colour files in a folder."""

import os

import numpy as np
import pytest
import torch
from PIL import Image

from ecogen import load
from ecogen.data import load_source
from ecogen.data.emoji import DEFAULT_FONT, groups_table
from ecogen.errors import DataError
from ecogen.session.recipes import RECIPES

from conftest import run_cli

needs_font = pytest.mark.skipif(not DEFAULT_FONT.is_file() and not os.environ.get("CI"),
                                reason="apt-get install fonts-noto-color-emoji (CI installs it; there this test runs)")


@needs_font
def test_emoji_are_colour_pictures_labelled_by_group():
    data = load_source("emoji", 32)
    table = groups_table()
    assert data.images.shape[1:] == (3, 32, 32) and len(data) == len(table["emoji"])  # every kept emoji found
    assert data.class_names == tuple(table["groups"]) and len(data.class_names) == 8
    assert set(np.unique(data.labels)) == set(range(8))
    assert data.images.min() >= -1 and data.images.max() <= 1
    corners = data.images[:, :, 0, 0]
    assert (corners > 0.99).all(axis=1).mean() > 0.9  # composited on white (a few emoji fill their square)
    spread = data.images.std(axis=1).mean()  # channels differ: colour, not grey repeated
    assert spread > 0.05
    black = load_source("emoji", 16, background="black")
    assert (black.images[:, :, 0, 0] < -0.99).all(axis=1).mean() > 0.9


def test_a_missing_or_corrupt_font_is_one_line(tmp_path):
    with pytest.raises(DataError, match="fonts-noto-color-emoji"):
        load_source(f"emoji:{tmp_path / 'none.ttf'}", 32)
    (tmp_path / "bad.ttf").write_bytes(b"\x00\x01\x00\x00" + os.urandom(200))
    proc = run_cli("train", "--data", f"emoji:{tmp_path / 'bad.ttf'}", "--steps", "1", "--out", str(tmp_path / "r"))
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(errors) == 1
    assert "bad.ttf" in proc.stderr and not (tmp_path / "r").exists()
    with pytest.raises(DataError, match="not a colour"):
        load_source("folder:" + str(tmp_path), 8, background="blurple")


def _cifar(folder, batches):
    """Files in CIFAR-10's binary format: a label byte, then 1,024 red, 1,024 green, 1,024 blue bytes."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for name, n in batches.items():
        labels = np.arange(n) % 10
        pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        pixels[0, :1024], pixels[0, 1024:2048], pixels[0, 2048:] = 200, 100, 0  # record 0: one orange colour
        np.concatenate([labels[:, None].astype(np.uint8), pixels], axis=1).tofile(folder / name)
    (folder / "batches.meta.txt").write_text("\n".join(f"class{i}" for i in range(10)) + "\n\n")


def test_cifar10_binary_files(tmp_path):
    _cifar(tmp_path / "c", {"data_batch_1.bin": 12, "data_batch_2.bin": 6, "test_batch.bin": 4})
    data = load_source(f"cifar10:{tmp_path / 'c'}", 32)
    assert data.images.shape == (22, 3, 32, 32) and data.class_names[3] == "class3"
    assert list(data.labels[:12]) == [i % 10 for i in range(12)]
    rgb = (data.images[0, :, 5, 7] + 1) * 127.5  # channel-major: record 0 is orange everywhere
    np.testing.assert_allclose(rgb, [200, 100, 0], atol=1e-3)


def test_cifar10_bad_files_name_the_file_and_record(tmp_path):
    _cifar(tmp_path / "c", {"data_batch_1.bin": 5, "data_batch_3.bin": 5})
    path = tmp_path / "c" / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-100])
    proc = run_cli("train", "--data", f"cifar10:{tmp_path / 'c'}", "--steps", "1", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "data_batch_3.bin: record 4 is truncated" in proc.stderr
    assert "Traceback" not in proc.stderr
    data = np.fromfile(tmp_path / "c" / "data_batch_1.bin", dtype=np.uint8)
    data[3073] = 42  # record 1's label
    data.tofile(tmp_path / "c" / "data_batch_1.bin")
    with pytest.raises(DataError, match="data_batch_1.bin: record 1 has label 42"):
        load_source(f"cifar10:{tmp_path / 'c'}", 32)
    with pytest.raises(DataError, match="no CIFAR-10 batch"):
        load_source(f"cifar10:{tmp_path}", 32)


def test_real_world_colour_files_are_converted_as_documented(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(folder / "a_rgb.png")
    rgba = Image.new("RGBA", (8, 8), (0, 0, 255, 0))  # fully transparent blue: the background shows
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    rgba.save(folder / "b_rgba.png")
    Image.new("P", (8, 8), 0).save(folder / "c_palette.png")  # palette index 0 is black
    grey16 = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))
    grey16.save(folder / "d_grey16.png")
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(folder / "e_cmyk.jpg")  # no black, full magenta + yellow: red
    Image.new("L", (8, 8), 64).save(folder / "f_grey.png")
    data = load_source(f"folder:{folder}", 8)
    assert data.images.shape == (6, 3, 8, 8)  # any colour file makes the set RGB
    pixel = lambda i, y=4, x=4: np.round((data.images[i, :, y, x] + 1) * 127.5)  # noqa: E731
    assert list(pixel(0)) == [255, 0, 0]
    assert list(pixel(1)) == [255, 255, 255] and list(pixel(1, 0, 0)) == [0, 0, 255]  # composited on white
    assert list(pixel(2)) == [0, 0, 0]
    assert list(pixel(3)) == [128, 128, 128]  # 16-bit mid-grey stays mid-grey, repeated to RGB
    r, g, b = pixel(4)
    assert r > 200 and g < 60 and b < 60  # CMYK JPEG -> red
    assert list(pixel(5)) == [64, 64, 64]
    black = load_source(f"folder:{folder}", 8, background="#000000")
    assert list(np.round((black.images[1, :, 4, 4] + 1) * 127.5)) == [0, 0, 0]


@needs_font
def test_a_colour_run_trains_on_emoji_with_the_seed_design(tmp_path):
    proc = run_cli("train", "--data", "emoji", "--preset", "seed", "--steps", "2", "--width-mult", "0.25",
                   "--out", str(tmp_path / "e"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    grid = Image.open(tmp_path / "e" / "samples" / "latest.png")
    assert grid.mode == "RGB"


@needs_font
def test_transformations_and_composition_on_colour(tmp_path):
    """A colour VAE reconstructs, denoises, inpaints and interpolates RGB images; compose places emoji."""
    from ecogen import api, train
    from conftest import tiny_config

    run = tmp_path / "vae"
    train(tiny_config(data={"source": "emoji", "image_size": 16}, model={"name": "vae", "width_mult": 0.25,
                                                                          "latent_dim": 16}, steps=4), run, progress=False)
    emoji = load_source("emoji", 16)
    img = Image.fromarray(((emoji.images[0].transpose(1, 2, 0) + 1) * 127.5).round().astype(np.uint8), "RGB")
    img.save(tmp_path / "in.png")
    for kind, options in (("reconstruct", {}), ("denoise", {}), ("inpaint", {"box": "4,4,6,6"})):
        api.transform(kind, tmp_path / f"{kind}.png", run=run, inputs=tmp_path / "in.png", device="cpu", steps=3,
                      **options)
        out = Image.open(tmp_path / f"{kind}.png")
        assert out.mode == "RGB" and out.size == (16, 16)
    known = np.ones((16, 16), bool)
    known[4:10, 4:10] = False
    assert np.array_equal(np.asarray(Image.open(tmp_path / "inpaint.png"))[known], np.asarray(img)[known])
    api.transform("interpolate", tmp_path / "path.png", run=run, device="cpu", seeds=(1, 2), frames=4)
    assert Image.open(tmp_path / "path.png").mode == "RGB"
    spec = {"canvas": {"width": 48, "height": 24, "background": [255, 255, 255]}, "model": str(run),
            "elements": [{"source": "seed", "seed": 1, "x": 12, "y": 12},
                         {"source": "image", "path": str(tmp_path / "in.png"), "x": 36, "y": 12, "blend": "over"}]}
    from ecogen.compose import Spec

    result = api.compose(tmp_path / "scene.png", spec=Spec.model_validate(spec), device="cpu")
    scene = np.asarray(Image.open(result.path))
    assert scene.shape == (24, 48, 3)


@needs_font
@pytest.mark.parametrize("recipe", RECIPES.names())
def test_every_recipe_trains_at_three_channels(recipe, tmp_path):
    """Each recipe as users run it on colour data (the sizes cut down: a quarter width, 16 px, 2 steps)."""
    from ecogen import train
    from ecogen.session.recipes import recipe_config

    config = recipe_config(recipe, {"data": {"source": "emoji", "image_size": 16}, "steps": 2, "device": "cpu",
                                    "model": {"width_mult": 0.25}, "eval_every": 2, "eval_n": 16})
    result = train(config, tmp_path / recipe, progress=False)
    assert result.step == 2 and result.record is not None
    assert Image.open(tmp_path / recipe / "samples" / "latest.png").mode == "RGB"
    assert result.record.quality["best"]["fid"] > 0  # checked on the colour (emoji) features


def test_a_folder_of_colour_photos_trains_and_samples_at_64_px(tmp_path):
    """A user's photos at 64 x 64: crops of scikit-image's bundled photos, through the CLI."""
    import skimage.data

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        picture = getattr(skimage.data, name)()
        for i in range(8):
            y, x = rng.integers(0, picture.shape[0] - 160), rng.integers(0, picture.shape[1] - 160)
            Image.fromarray(picture[y:y + 160, x:x + 160]).save(photos / f"{name}_{i}.jpg", quality=90)
    run = tmp_path / "run"
    trained = run_cli("train", "--data", f"folder:{photos}", "--image-size", "64", "--width-mult", "0.125",
                      "--batch-size", "8", "--steps", "3", "--device", "cpu", "--out", str(run), "--quiet")
    assert trained.returncode == 0, trained.stderr
    gen = load(run)
    assert gen.config.data.image_size == 64 and gen.config.data.channels == 3
    images = gen.sample(4, seed=1)
    assert images.shape == (4, 3, 64, 64) and torch.isfinite(images).all()
    grid = tmp_path / "grid.png"
    assert run_cli("sample", str(run), "--n", "4", "--out", str(grid)).returncode == 0
    with Image.open(grid) as picture:
        assert picture.mode == "RGB" and picture.width >= 2 * 64
