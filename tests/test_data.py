import numpy as np
import pytest
import torch
from PIL import Image

from ecogen.config import DataConfig
from ecogen.data import BatchStream, load_source, make_split, prepare_data
from ecogen.data.fit import fit_size
from ecogen.errors import DataError, EcogenError


def test_mnist_is_the_real_bundled_digits():
    data = load_source("mnist", 32)
    assert data.images.shape == (5000, 1, 28, 28)
    assert data.images.min() == -1.0 and data.images.max() == 1.0
    assert np.bincount(data.labels).tolist() == [500] * 10


def test_mnist_padded_to_32_keeps_every_pixel():
    raw = load_source("mnist", 32).images
    fitted = prepare_data(DataConfig(source="mnist", image_size=32)).images.images
    assert fitted.shape == (5000, 1, 32, 32)
    np.testing.assert_array_equal(fitted[:, :, 2:30, 2:30], raw)
    assert (fitted[:, :, :2] == -1).all()


def test_digits_and_faces():
    digits = load_source("digits", 32)
    assert digits.images.shape == (1797, 1, 8, 8) and digits.labels.max() == 9
    faces = load_source("faces", 32)
    assert faces.images.shape == (200, 1, 25, 25) and faces.labels.sum() == 100
    assert faces.class_names == ("non_face", "face")


def test_resize_and_channels():
    cfg = DataConfig(source="digits", image_size=16, channels=3)
    data = prepare_data(cfg)
    assert data.images.images.shape == (1797, 3, 16, 16) and data.config.channels == 3
    assert -1 <= data.images.images.min() and data.images.images.max() <= 1


def test_pad_is_centred_with_background():
    x = np.ones((1, 1, 2, 2), dtype=np.float32)
    out = fit_size(x, 4, "pad")
    assert out[0, 0].tolist() == [[-1, -1, -1, -1], [-1, 1, 1, -1], [-1, 1, 1, -1], [-1, -1, -1, -1]]


def _png(path, mode, size=(10, 12), value=128):
    Image.new(mode, size, value if mode == "L" else (value, 0, 255)).save(path)


def test_folder_with_class_subfolders(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
    _png(tmp_path / "cat" / "a.png", "L")
    _png(tmp_path / "cat" / "b.png", "L")
    _png(tmp_path / "dog" / "c.jpg", "RGB", size=(30, 20))
    data = load_source(f"folder:{tmp_path}", 16)
    assert data.images.shape == (3, 3, 16, 16)  # one RGB image makes the set RGB
    assert data.labels.tolist() == [0, 0, 1] and data.class_names == ("cat", "dog")


def test_flat_folder_has_no_labels(tmp_path):
    _png(tmp_path / "a.png", "L")
    data = load_source(f"folder:{tmp_path}", 8)
    assert data.images.shape == (1, 1, 8, 8) and data.labels is None


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="no images"):
        load_source(f"folder:{tmp_path}", 8)
    with pytest.raises(DataError, match="not found"):
        load_source(f"folder:{tmp_path / 'missing'}", 8)
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match="broken.png"):
        load_source(f"folder:{tmp_path}", 8)


def test_npz(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, size=(6, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(6) % 2)
    data = load_source(f"npz:{tmp_path / 'd.npz'}", 8)
    assert data.images.shape == (6, 3, 8, 8) and data.labels.tolist() == [0, 1, 0, 1, 0, 1]
    np.testing.assert_allclose(data.images[0, :, 1, 2], x[0, 1, 2] / 127.5 - 1, atol=1e-6)
    np.savez(tmp_path / "bad.npz", images=x)
    with pytest.raises(DataError, match="no array named 'x'"):
        load_source(f"npz:{tmp_path / 'bad.npz'}", 8)


def test_unknown_source_lists_choices():
    with pytest.raises(EcogenError, match="cifar10, digits, emoji, faces, fashion-mnist, folder, idx, mnist, npz"):
        load_source("cifar", 32)


def test_split_is_seeded_disjoint_and_ten_percent():
    a, b = make_split(1000, 0.1, seed=3), make_split(1000, 0.1, seed=3)
    assert np.array_equal(a.holdout, b.holdout) and len(a.holdout) == 100
    assert not set(a.train) & set(a.holdout) and len(a.train) + len(a.holdout) == 1000
    assert not np.array_equal(a.holdout, make_split(1000, 0.1, seed=4).holdout)


def test_batch_stream_is_seeded_and_ignores_the_global_rng():
    torch.manual_seed(1)
    first = [BatchStream(100, 10, seed=5).indices(k) for k in range(25)]
    torch.manual_seed(2)
    stream = BatchStream(100, 10, seed=5)
    second = [stream.indices(k) for k in range(25)]
    assert all(torch.equal(x, y) for x, y in zip(first, second))
    epoch = torch.cat(second[:10])
    assert sorted(epoch.tolist()) == list(range(100))  # one epoch sees every image once
    assert not torch.equal(torch.cat(second[10:20]), epoch)  # and the next is reshuffled
