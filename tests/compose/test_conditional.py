import pytest
import torch

from ecogen import load, train
from ecogen.config import ModelConfig
from ecogen.errors import EcogenError
from ecogen.models import build_model

from conftest import run_cli, tiny_config

CLASSES = [str(i) for i in range(10)]


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cgan"
    train(tiny_config(model={"conditional": True, "width_mult": 0.25, "latent_dim": 16}, steps=6), out, progress=False)
    return out


@pytest.mark.parametrize("name,g_cond,d_cond", [("dcgan", "input", "concat"), ("dcgan", "batchnorm", "projection"),
                                                ("dcgan", "input", "both"), ("vae", "input", "concat"),
                                                ("vae", "batchnorm", "concat")])
def test_conditional_shapes_and_label_routing(name, g_cond, d_cond):
    config = ModelConfig(name=name, conditional=True, classes=CLASSES, latent_dim=8, width_mult=0.25,
                         g_conditioning=g_cond, d_conditioning=d_cond)
    models = build_model(config, 16, 1)
    sampler = models["G"] if name == "dcgan" else models["decoder"]
    sampler.eval()
    z = torch.randn(1, 8).repeat(10, 1)
    images = sampler(z, torch.arange(10))
    assert images.shape == (10, 1, 16, 16)
    assert (images[0] - images[1]).abs().max() > 0  # same z, different class -> different image
    with pytest.raises(ValueError, match="needs class labels"):
        sampler(z)
    critic = models["D"] if name == "dcgan" else models["encoder"]
    critic.eval()
    x = torch.rand(1, 1, 16, 16).repeat(10, 1, 1, 1)
    out = critic(x, torch.arange(10))
    assert not torch.allclose(out[0], out[1])  # the critic (or encoder) sees the label


def test_training_records_the_classes_and_samples_by_class(cond_run):
    gen = load(cond_run, device="cpu")
    assert gen.classes == CLASSES
    sevens = gen.sample(4, seed=0, classes=["7"])
    mixed = gen.sample(4, seed=0, classes=["7", "1"])
    assert sevens.shape == (4, 1, 16, 16)
    assert torch.equal(sevens[0], mixed[0]) and not torch.equal(sevens[1], mixed[1])
    with pytest.raises(EcogenError, match="valid classes: 0, 1, 2"):
        gen.sample(1, classes=["x"])


def test_conditional_needs_labels(tmp_path):
    import numpy as np

    np.savez(tmp_path / "x.npz", x=np.zeros((40, 8, 8), dtype=np.uint8))
    with pytest.raises(EcogenError, match="needs labelled data"):
        train(tiny_config(data={"source": f"npz:{tmp_path / 'x.npz'}", "image_size": 8}, model={"conditional": True},
                          steps=1), tmp_path / "r", progress=False)


def test_cli_class_grid_and_errors(cond_run, tmp_path):
    proc = run_cli("sample", str(cond_run), "--class", "7", "--n", "4", "--out", str(tmp_path / "sevens.png"))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("sample", str(cond_run), "--grid-by-class", "--n", "3", "--out", str(tmp_path / "table.png"))
    assert proc.returncode == 0, proc.stderr
    from PIL import Image

    import numpy as np

    table = np.asarray(Image.open(tmp_path / "table.png").convert("L"))
    width = table.shape[1] - (3 * 18 + 2)  # the label column left of the 3 x 10 grid
    assert table.shape[0] == 10 * 18 + 2 and width > 4  # a row per class
    for row in range(10):  # each row's label: bright pixels in the column beside it
        assert table[2 + row * 18 : 18 + row * 18, :width].max() > 128, row
    proc = run_cli("sample", str(cond_run), "--class", "12", "--out", str(tmp_path / "x.png"))
    assert proc.returncode == 2 and "valid classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in proc.stderr


def test_class_batchnorm_carries_the_class_past_the_input():
    from ecogen.models.blocks import ClassBatchNorm
    from ecogen.models.dcgan import Generator

    z, y = torch.randn(1, 8).repeat(2, 1), torch.tensor([3, 5])
    for conditioning, differs in (("input", False), ("batchnorm", True)):
        G = Generator(8, 16, 1, 0.25, num_classes=10, conditioning=conditioning).eval()
        torch.nn.init.zeros_(G.embed.weight)  # the input no longer tells the classes apart
        for m in G.modules():
            if isinstance(m, ClassBatchNorm):
                torch.nn.init.normal_(m.shift.weight, 0.0, 0.5)
        images = G(z, y)
        assert bool((images[0] - images[1]).abs().max() > 1e-4) == differs, conditioning
