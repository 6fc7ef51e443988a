import pytest
import torch
from torch import nn

from ecogen.config import ModelConfig
from ecogen.errors import ConfigError
from ecogen.models import PRESETS, Discriminator, Generator, build_model


def convs(module: nn.Module):
    return [
        (type(m).__name__, m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0])
        for m in module.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]


@pytest.mark.parametrize("channels", [1, 3])
def test_seed_preset_is_exactly_the_reference_design(channels):
    models = build_model(ModelConfig(**PRESETS.get("seed")), image_size=32, channels=channels)
    assert convs(models["G"]) == [
        ("ConvTranspose2d", 100, 256, 4, 1, 0),
        ("ConvTranspose2d", 256, 128, 4, 2, 1),
        ("ConvTranspose2d", 128, 64, 4, 2, 1),
        ("ConvTranspose2d", 64, channels, 4, 2, 1),
    ]
    assert convs(models["D"]) == [
        ("Conv2d", channels, 64, 4, 2, 1),
        ("Conv2d", 64, 128, 4, 2, 1),
        ("Conv2d", 128, 256, 4, 2, 1),
        ("Conv2d", 256, 1, 4, 1, 0),
    ]
    kinds = [type(m).__name__ for m in models["G"].net]
    assert kinds[-1] == "Tanh" and kinds.count("BatchNorm2d") == 3 and kinds.count("ReLU") == 3
    leaky = [m for m in models["D"].modules() if isinstance(m, nn.LeakyReLU)]
    assert len(leaky) == 3 and all(m.negative_slope == 0.2 for m in leaky)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in models["D"].modules()) == 2  # not after the first conv


@pytest.mark.parametrize("size", [28, 32, 64, 16])
@pytest.mark.parametrize("downsample", ["stride", "avgpool"])
def test_shapes_for_each_size(size, downsample):
    g, d = Generator(32, size, 3, width_mult=0.25), Discriminator(size, 3, 0.25, downsample, "batch")
    images = g(torch.randn(5, 32))
    assert images.shape == (5, 3, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (5,)


def test_28_starts_from_seven_by_seven():
    first = Generator(100, 28, 1).net[0]
    assert first.kernel_size == (7, 7) and first.out_channels == 128


def test_width_multiplier_scales_channels():
    assert convs(Generator(100, 32, 1, width_mult=0.5))[0][2] == 128


def test_dcgan_initialisation():
    weights = torch.cat([m.weight.flatten() for m in Generator(100, 64, 3).modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(weights.std().item() - 0.02) < 0.002 and abs(weights.mean().item()) < 0.001


def test_unsupported_size_is_a_clear_error():
    with pytest.raises(ConfigError, match="image_size: 30"):
        Generator(100, 30, 1)


SPECTRAL_CONDITIONAL = ModelConfig(name="dcgan", d_norm="spectral", conditional=True, classes=("a", "b", "c"),
                                   g_conditioning="batchnorm", aux_classifier=True)


@pytest.mark.parametrize("config", [ModelConfig(name="dcgan"), ModelConfig(name="vae"), SPECTRAL_CONDITIONAL],
                         ids=["dcgan", "vae", "spectral-conditional"])
def test_build_draws_from_its_own_generator_and_leaves_the_global_rng_alone(config):
    torch.manual_seed(1)
    state = torch.random.get_rng_state()
    first = build_model(config, 16, 3, seed=4).state_dict()
    assert torch.equal(torch.random.get_rng_state(), state)  # nothing written
    torch.manual_seed(2)  # and nothing read: another global state gives the same weights
    again = build_model(config, 16, 3, seed=4).state_dict()
    other = build_model(config, 16, 3, seed=5).state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first if first[k].is_floating_point())
    assert all(bool(torch.isfinite(t).all()) for t in first.values() if t.is_floating_point())
    weights = torch.cat([t.flatten() for k, t in first.items() if k.endswith("weight") and t.dim() == 4])
    assert abs(float(weights.std()) - 0.02) < 0.002  # DCGAN's N(0, 0.02)


def test_spectral_vectors_are_drawn_for_the_initial_weights():
    D = build_model(SPECTRAL_CONDITIONAL, 16, 3, seed=0)["D"]
    for module in D.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                sigma = torch.linalg.matrix_norm(module.weight.flatten(1), 2)
            assert 0.9 < float(sigma) < 1.1  # the power iteration converged on these weights, not stale memory


def test_a_layer_its_initialise_forgets_is_caught(monkeypatch):
    monkeypatch.setattr(Generator, "initialise", lambda self, generator=None: None)
    with pytest.raises(RuntimeError, match="was not initialised"):
        build_model(ModelConfig(name="dcgan"), 16, 1)


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_g_depth_adds_same_resolution_layers_after_each_upsampling(name):
    plain = build_model(ModelConfig(name=name, width_mult=0.25), 32, 3, seed=0)
    deep = build_model(ModelConfig(name=name, width_mult=0.25, g_depth=2), 32, 3, seed=0)
    key = "G" if name == "dcgan" else "decoder"
    convs = lambda m: [l for l in m.net if type(l) is nn.Conv2d]  # noqa: E731
    assert convs(plain[key]) == [] and len(convs(deep[key])) == 2 * 2  # 32 px: two upsamplings below the output
    assert all(c.in_channels == c.out_channels and c.kernel_size == (3, 3) for c in convs(deep[key]))
    z = torch.randn(2, 100)
    assert deep[key](z).shape == plain[key](z).shape == (2, 3, 32, 32)


def test_minibatch_std_plane_is_each_groups_feature_spread():
    from ecogen.models.dcgan import minibatch_std

    h = torch.randn(8, 3, 4, 4)
    out = minibatch_std(h, 4)  # groups: images {0, 2, 4, 6} and {1, 3, 5, 7}
    assert out.shape == (8, 4, 4, 4) and torch.equal(out[:, :3], h)
    for member in range(2):
        expected = h[member::2].std(dim=0, unbiased=False).mean()
        assert torch.allclose(out[member::2, 3], expected.expand(4, 4, 4))
    same = minibatch_std(h[:1].expand(6, -1, -1, -1), 4)  # 6 does not divide by 4: one group of all
    assert torch.count_nonzero(same[:, 3]) == 0  # no variety, no spread


def test_minibatch_std_lets_d_see_the_other_images_of_a_group():
    plain = Discriminator(16, 3, width_mult=0.25, norm="spectral").eval()
    d = Discriminator(16, 3, width_mult=0.25, norm="spectral", mbstd=2).eval()
    assert d.net[-1].in_channels == plain.net[-1].in_channels + 1
    x = torch.randn(4, 3, 16, 16)
    changed = x.clone()
    changed[2] = torch.randn(3, 16, 16)  # image 2 shares a group with image 0 (groups {0, 2} and {1, 3})
    a, b = d(x), d(changed)
    assert not torch.isclose(a[0], b[0]) and torch.equal(a[1], b[1]) and torch.equal(a[3], b[3])
    assert torch.equal(plain(x)[0], plain(changed)[0])  # without it, D judges each image alone
    models = build_model(ModelConfig(name="dcgan", width_mult=0.25, d_mbstd=4, d_norm="spectral"), 16, 3, seed=0)
    assert models["D"].mbstd == 4


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_nearest_upsampling_replaces_every_strided_transposed_conv_of_g(name):
    key = "G" if name == "dcgan" else "decoder"
    plain = build_model(ModelConfig(name=name, width_mult=0.25), 32, 3, seed=0)[key]
    near = build_model(ModelConfig(name=name, width_mult=0.25, g_upsample="nearest"), 32, 3, seed=0)[key]
    strided = lambda m: [l for l in m.modules() if isinstance(l, nn.ConvTranspose2d) and l.stride == (2, 2)]  # noqa: E731
    assert len(strided(plain)) == 3 and strided(near) == []  # 4 -> 8 -> 16 -> 32
    ups = [l for l in near.net if isinstance(l, nn.Upsample)]
    after = [near.net[i + 1] for i, l in enumerate(near.net) if isinstance(l, nn.Upsample)]
    assert len(ups) == 3 and all(type(c) is nn.Conv2d and c.kernel_size == (3, 3) for c in after)
    z = torch.randn(2, 100)
    assert near(z).shape == plain(z).shape == (2, 3, 32, 32)
