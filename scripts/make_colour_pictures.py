"""The colour pictures in docs/transforms.md, from a VAE trained on the emoji and held-out emoji it never saw.

    ecogen train --model vae --data emoji --lr-g 1e-3 --beta1 0.9 --epochs 40 --out runs/emoji-vae
    python scripts/make_colour_pictures.py runs/emoji-vae

Each picture is rows of 32x32 images, enlarged 3x without smoothing: held-out inputs, then what the
transformation made of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ecogen.api import compose, transform
from ecogen.compose import Spec
from ecogen.config import DataConfig
from ecogen.data import prepare_data
from ecogen.rundir import RunDir

DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"
PICKS = [3, 20, 41, 77, 100, 130]


def rows(*folders: list[Path]) -> Image.Image:
    """Stack rows of equally sized images with a 2 px white gap, enlarged 3x (nearest)."""
    tiles = [[np.asarray(Image.open(p).convert("RGB")) for p in row] for row in folders]
    h, w = tiles[0][0].shape[:2]
    canvas = np.full((len(tiles) * (h + 2) + 2, max(len(r) for r in tiles) * (w + 2) + 2, 3), 255, np.uint8)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            canvas[2 + r * (h + 2) : 2 + r * (h + 2) + tile.shape[0], 2 + c * (w + 2) : 2 + c * (w + 2) + tile.shape[1]] = tile
    image = Image.fromarray(canvas)
    return image.resize((image.width * 3, image.height * 3), Image.Resampling.NEAREST)


def main(run: Path, work: Path = Path("runs/colour_pictures")) -> None:
    held = work / "held"
    held.mkdir(parents=True, exist_ok=True)
    data = prepare_data(DataConfig(source="emoji"), split=RunDir(run).read_split())
    inputs = []
    for i, k in enumerate(PICKS):
        pixels = ((data.holdout.images[k].transpose(1, 2, 0) + 1) * 127.5).round().astype(np.uint8)
        inputs.append(held / f"{i}.png")
        Image.fromarray(pixels).save(inputs[-1])
    done = dict(device="cpu", overwrite=True)
    transform("reconstruct", work / "rec", run=run, inputs=held, **done)
    transform("corrupt", work / "noisy", inputs=held, noise="gaussian:0.2", overwrite=True)
    transform("denoise", work / "clean", run=run, inputs=work / "noisy", **done)
    holed = []
    for i, path in enumerate(inputs):
        transform("inpaint", work / f"filled{i}.png", run=run, inputs=path, box="8,8,16,12", **done)
        pixels = np.asarray(Image.open(path)).copy()
        pixels[8:20, 8:24] = 0
        holed.append(work / f"holed{i}.png")
        Image.fromarray(pixels).save(holed[-1])
    names = [f"{i}.png" for i in range(len(PICKS))]
    rows(inputs, [work / "rec" / n for n in names]).save(DOCS / "colour_reconstruct.png")
    rows(inputs, [work / "noisy" / n for n in names], [work / "clean" / n for n in names]).save(DOCS / "colour_denoise.png")
    rows(holed, [work / f"filled{i}.png" for i in range(len(PICKS))]).save(DOCS / "colour_inpaint.png")
    transform("interpolate", DOCS / "colour_interpolate.png", run=run, start=inputs[0], end=inputs[1], frames=8, **done)
    spec = {"canvas": {"width": 128, "height": 64, "background": [250, 250, 245]}, "model": str(run),
            "elements": [{"source": "image", "path": str(inputs[k]), "x": 16 + 24 * k, "y": 20 + 24 * (k % 2),
                          "scale": 1.0 + 0.2 * (k % 3), "rotation": 10 * (k - 2), "blend": "over"} for k in range(5)]}
    compose(DOCS / "colour_scene.png", spec=Spec.model_validate(spec), device="cpu", overwrite=True)
    print(f"wrote the colour pictures in {DOCS}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/emoji-vae"))
