import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from ecogen import load, train
from ecogen.api import read_receipt
from ecogen.compose import compose, dump_spec, latent_mix, load_spec, parse_spec, text_spec
from ecogen.errors import ConfigError, EcogenError

from conftest import run_cli, tiny_config


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cgan"
    train(tiny_config(model={"conditional": True, "width_mult": 0.25, "latent_dim": 16}, steps=4), out, progress=False)
    return out


def square(path, size=8, value=255):
    Image.new("L", (size, size), value).save(path)
    return str(path)


def test_spec_round_trip(tmp_path):
    spec = parse_spec({
        "canvas": {"width": 64, "height": 32, "background": [10, 20, 30]},
        "model": "runs/cgan",
        "elements": [
            {"source": "class", "class": "7", "x": 16, "y": 16, "scale": 1.5, "rotation": 20},
            {"source": "mix", "seeds": [1, 2], "weights": [0.7, 0.3], "layer": 2, "x": 40, "y": 16},
            {"source": "image", "path": "a.png", "x": 50, "y": 10, "blend": "feather", "feather": 2},
        ],
    })
    for name in ("spec.yaml", "spec.json"):
        dump_spec(spec, tmp_path / name)
        assert load_spec(tmp_path / name) == spec
    assert yaml.safe_load((tmp_path / "spec.yaml").read_text())["elements"][0]["class"] == "7"


@pytest.mark.parametrize(
    "element, message",
    [
        ({"source": "class", "x": 1, "y": 1}, "elements.0: source 'class' needs 'class'"),
        ({"source": "image", "path": "a.png", "x": 1, "y": 1, "scale": 0}, "elements.0.scale: Input should be greater than 0"),
        ({"source": "image", "path": "a.png", "x": 1}, "elements.0.y: Field required"),
        ({"source": "gif", "x": 1, "y": 1}, "elements.0.source"),
        ({"source": "image", "path": "a.png", "x": 1, "y": 1, "colour": 3}, "elements.0.colour: unknown field"),
        ({"source": "mix", "seeds": [1, 2], "weights": [1.0], "x": 1, "y": 1}, "one weight per seed"),
    ],
)
def test_a_bad_spec_names_the_wrong_field(element, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_spec({"elements": [element]})


def test_elements_land_where_the_spec_says(tmp_path):
    spec = parse_spec({
        "canvas": {"width": 40, "height": 30, "background": 0},
        "elements": [
            {"source": "image", "path": square(tmp_path / "w.png"), "x": 20, "y": 10, "blend": "over"},
            {"source": "image", "path": square(tmp_path / "g.png", 4, 128), "x": 6, "y": 24, "blend": "over", "scale": 2},
        ],
    })
    image = compose(spec).image[..., 0]
    assert image[6:14, 16:24].min() == 1.0  # the white 8x8 square centred at (20, 10)
    assert image[:6].max() == 0.0 and image[14:, 24:].max() == 0.0
    assert np.allclose(image[20:28, 2:10], 128 / 255, atol=0.01)  # 4x4 grey scaled to 8x8 at (6, 24)
    assert image[:, 30:].max() == 0.0


def test_blending_modes(tmp_path):
    path = square(tmp_path / "w.png", 10)
    over = {"source": "image", "path": path, "x": 10, "y": 10, "blend": "feather", "feather": 3}
    image = compose(parse_spec({"canvas": {"width": 20, "height": 20}, "elements": [over]})).image[..., 0]
    assert image[10, 10] == pytest.approx(1.0) and 0 < image[10, 5] < 1  # soft edge, solid centre
    half = {**over, "blend": "over", "opacity": 0.5}
    image = compose(parse_spec({"canvas": {"width": 20, "height": 20, "background": 255}, "elements": [half]})).image
    assert image[10, 10, 0] == pytest.approx(1.0)
    rgb = compose(parse_spec({"canvas": {"width": 20, "height": 20, "background": [255, 0, 0]},
                              "elements": [{**over, "blend": "over"}]})).image
    assert rgb.shape == (20, 20, 3) and rgb[0, 0].tolist() == [1.0, 0.0, 0.0] and rgb[10, 10].tolist() == [1.0, 1.0, 1.0]


def test_text_composes_generated_digits_and_sums_energy(cond_run):
    gen = load(cond_run, device="cpu")
    result = compose(text_spec("2026", gen), gen)
    assert result.image.shape == (16, 64, 1)
    assert len(result.element_wh) == 4 and all(wh > 0 for wh in result.element_wh)
    assert result.total_wh >= sum(result.element_wh)
    with pytest.raises(EcogenError, match="valid classes"):
        text_spec("20x6", gen)


def test_latent_mixing(cond_run):
    gen = load(cond_run, device="cpu")
    z = torch.cat([gen.latents(1, 1), gen.latents(1, 2)])
    y = torch.tensor([3, 3])
    assert torch.allclose(latent_mix(gen, z, [1.0, 0.0], labels=y), gen.decode(z[:1], labels=y[:1]), atol=1e-6)
    assert torch.allclose(latent_mix(gen, z, [0.0, 1.0], layer=2, labels=y), gen.decode(z[1:], labels=y[1:]), atol=1e-5)
    halfway = latent_mix(gen, z, [0.5, 0.5], layer=2, labels=y)
    assert halfway.shape == (1, 1, 16, 16)
    with pytest.raises(EcogenError, match="layer must be within"):
        latent_mix(gen, z, [0.5, 0.5], layer=99, labels=y)


def test_cli_compose_text_and_spec(cond_run, tmp_path):
    proc = run_cli("compose", "--model", str(cond_run), "--text", "2026", "--out", str(tmp_path / "year.png"))
    assert proc.returncode == 0, proc.stderr
    receipt = read_receipt(tmp_path / "year.png")
    assert len(receipt["element_wh"]) == 4 and receipt["energy_wh"] >= sum(receipt["element_wh"])
    (tmp_path / "bad.yaml").write_text("elements:\n  - {source: class, x: 1, y: 2}\n")
    proc = run_cli("compose", "--spec", str(tmp_path / "bad.yaml"), "--model", str(cond_run), "--out", str(tmp_path / "b.png"))
    assert proc.returncode == 2 and "elements.0: source 'class' needs 'class'" in proc.stderr
    proc = run_cli("compose", "--text", "12", "--out", str(tmp_path / "c.png"))
    assert proc.returncode == 2 and "--text needs --model" in proc.stderr
