import numpy as np
import pytest
import torch
from PIL import Image

from ecogen import load, sample_to
from ecogen.errors import EcogenError


def test_load_and_sample_is_seeded(tiny_run):
    gen = load(tiny_run, device="cpu")
    a, b = gen.sample(16, seed=0), gen.sample(16, seed=0, batch_size=5)
    assert a.shape == (16, 1, 16, 16) and a.dtype == torch.float32
    assert -1 <= a.min() and a.max() <= 1
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)  # batching does not change the images
    assert not torch.equal(a, gen.sample(16, seed=1))


def test_grid_and_folder_outputs(tiny_run, tmp_path):
    gen = load(tiny_run, device="cpu")
    [grid] = sample_to(gen, 9, tmp_path / "grid.png").paths
    assert Image.open(grid).size == (3 * 18 + 2, 3 * 18 + 2)
    paths = sample_to(gen, 5, tmp_path / "each").paths
    assert [p.name for p in paths] == [f"00000{i}.png" for i in range(5)]
    pixels = np.asarray(Image.open(paths[0]))
    expected = ((gen.sample(5)[0, 0] + 1) * 127.5).round().numpy()
    np.testing.assert_array_equal(pixels, expected)


def test_outputs_are_not_overwritten_without_asking(tiny_run, tmp_path):
    gen = load(tiny_run, device="cpu")
    target = tmp_path / "grid.png"
    target.write_bytes(b"mine")
    with pytest.raises(EcogenError, match="already exists"):
        sample_to(gen, 4, target)
    assert target.read_bytes() == b"mine"
    sample_to(gen, 4, target, overwrite=True)
    assert Image.open(target).size[0] > 0
