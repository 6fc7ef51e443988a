"""Regenerate src/ecogen/data/emoji_groups.json from Unicode's emoji-test.txt (Debian: unicode-data).

Kept: fully-qualified emoji of the eight picture groups, ZWJ sequences included. Left out, and why:
the Component group (skin-tone swatches, hair parts: not pictures), Flags (about 260 near-identical
rectangles), skin-tone variants (the same picture five more times) and keycaps (a digit or a sign on a
grey key: text, not pictures). The labels are the Unicode emoji groups.

    python scripts/make_emoji_groups.py [/usr/share/unicode/emoji/emoji-test.txt]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SOURCE = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode/emoji/emoji-test.txt")
OUT = Path(__file__).resolve().parents[1] / "src" / "ecogen" / "data" / "emoji_groups.json"
DROP_GROUPS = {"Component", "Flags"}
SKIN_TONES = {f"{c:X}" for c in range(0x1F3FB, 0x1F400)}
KEYCAP = "20E3"


def main() -> None:
    group, version, entries = None, None, []
    for line in SOURCE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# Version:"):
            version = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#") and "; fully-qualified" in line:
            codes = line.split(";")[0].split()
            if group in DROP_GROUPS or SKIN_TONES & set(codes) or KEYCAP in codes:
                continue
            entries.append([" ".join(codes), group])
    groups = sorted({g for _, g in entries}, key=[g for _, g in entries].index)
    head = json.dumps({"source": f"Unicode emoji-test.txt {version}", "groups": groups})[:-1]
    rows = ",\n".join(json.dumps(entry) for entry in entries)  # one emoji per line: readable diffs
    OUT.write_text(f'{head}, "emoji": [\n{rows}\n]}}\n')
    print(f"{len(entries)} emoji in {len(groups)} groups -> {OUT}")


if __name__ == "__main__":
    main()
