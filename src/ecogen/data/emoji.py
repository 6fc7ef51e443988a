"""``emoji``: the colour bitmaps of a colour-emoji font (Noto Color Emoji by default), labelled by their
Unicode emoji group, composited on a background. Read with fontTools; nothing is downloaded.

Which emoji are kept, and why, is in scripts/make_emoji_groups.py (the packaged table it writes):
1,589 sequences of eight groups, without flags, skin-tone variants, keycaps and components.
"""

from __future__ import annotations

import importlib.resources
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor

from ecogen.data.imageset import ImageSet
from ecogen.errors import DataError

DEFAULT_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
INSTALL = "apt-get install fonts-noto-color-emoji (Debian/Ubuntu), or give a colour-bitmap font as emoji:PATH"
VARIATION_SELECTOR = 0xFE0F


def groups_table() -> dict:
    with importlib.resources.files("ecogen.data").joinpath("emoji_groups.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def background_rgb(background: str) -> tuple[int, int, int]:
    try:
        return ImageColor.getrgb(background)[:3]
    except ValueError:
        raise DataError(f"--background {background!r} is not a colour (a name like white, or #RRGGBB)") from None


def _open_font(path: Path):
    from fontTools.ttLib import TTFont

    if not path.is_file():
        raise DataError(f"emoji font not found: {path}; {INSTALL}")
    try:
        font = TTFont(str(path))
        strike = font["CBDT"].strikeData[0]
        cmap = font.getBestCmap()
        ligatures = _ligatures(font)
    except KeyError:
        raise DataError(f"{path} has no colour bitmaps (CBDT table); {INSTALL}") from None
    except Exception as err:  # noqa: BLE001  (fontTools raises many kinds on a damaged file)
        raise DataError(f"cannot read font {path}: not a readable font file ({err.__class__.__name__})") from None
    return strike, cmap, ligatures


def _ligatures(font) -> dict[tuple[str, ...], str]:
    """Glyph sequences (ZWJ emoji) -> the ligature glyph, from the font's GSUB ligature lookups."""
    table = {}
    if "GSUB" not in font:
        return table
    for lookup in font["GSUB"].table.LookupList.Lookup:
        for sub in lookup.SubTable:
            sub = getattr(sub, "ExtSubTable", sub)
            for first, ligs in getattr(sub, "ligatures", {}).items():
                for lig in ligs:
                    table.setdefault((first, *lig.Component), lig.LigGlyph)
    return table


def _glyph(codes: list[int], cmap: dict[int, str], ligatures: dict[tuple[str, ...], str]) -> str | None:
    names = [cmap.get(c) for c in codes if c != VARIATION_SELECTOR or c in cmap]
    if any(n is None for n in names):
        return None
    return names[0] if len(names) == 1 else ligatures.get(tuple(names))


def load_emoji(path: Path | None, image_size: int, background: str = "white") -> ImageSet:
    """Every kept emoji the font draws, as RGB on ``background``, square, at ``image_size`` (0: native)."""
    fill = background_rgb(background)
    strike, cmap, ligatures = _open_font(path or DEFAULT_FONT)
    table = groups_table()
    images, labels = [], []
    for sequence, group in table["emoji"]:
        name = _glyph([int(c, 16) for c in sequence.split()], cmap, ligatures)
        if name is None or name not in strike:
            continue
        images.append(_picture(strike[name], fill, image_size, name))
        labels.append(table["groups"].index(group))
    if not images:
        raise DataError(f"{path or DEFAULT_FONT}: none of the emoji has a bitmap in this font")
    stacked = np.stack(images).transpose(0, 3, 1, 2)
    return ImageSet(stacked.astype(np.float32) / 127.5 - 1.0, np.array(labels, dtype=np.int64), tuple(table["groups"]))


def _picture(glyph, fill: tuple[int, int, int], image_size: int, name: str) -> np.ndarray:
    """One glyph's PNG composited on ``fill``, centred on a square, resized (bilinear, antialiased)."""
    try:
        with Image.open(io.BytesIO(glyph.imageData)) as img:
            rgba = img.convert("RGBA")
    except Exception as err:  # noqa: BLE001
        raise DataError(f"emoji glyph {name}: cannot decode its bitmap ({err.__class__.__name__})") from None
    side = max(rgba.size)
    canvas = Image.new("RGB", (side, side), fill)
    canvas.paste(rgba, ((side - rgba.width) // 2, (side - rgba.height) // 2), rgba)
    if image_size and image_size != side:
        canvas = canvas.resize((image_size, image_size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(canvas, dtype=np.uint8)
