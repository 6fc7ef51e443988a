#!/usr/bin/env bash
# The GPU check, one short script (about 5 minutes on an H100): run it on a machine with an NVIDIA GPU.
#   here:  bash benchmarks/gpu_wheels.sh                 (once: the wheels that machine lacks, into .whl/)
#   there: bash benchmarks/gpu_check.sh                  (with .whl carried along)
# It installs ecogen with --no-deps on that machine's own Python, leaving its CUDA build of torch alone,
# adds from .whl only the packages that are missing, then runs benchmarks/gpu_check.py, which writes
# gpu_check.json under benchmarks/results/ (and a copy under $OUT when that is set).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('torch', torch.__version__, torch.cuda.get_device_name(0))" || exit 1
missing=$("$PY" - <<'PY'
import importlib.metadata as md
from pathlib import Path
need = {}
for wheel in sorted(Path(".whl").glob("*.whl")):
    dist, version = wheel.name.split("-")[:2]
    need[dist.lower().replace("_", "-")] = (version, wheel)
for dist, (version, wheel) in need.items():
    try:
        have = md.version(dist)
    except md.PackageNotFoundError:
        have = None
    # typing-extensions is there already, maybe older than pydantic needs: take ours when it differs
    if have is None or (dist == "typing-extensions" and have != version):
        print(wheel)
PY
)
if [ -n "$missing" ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile $missing || exit 1
fi
"$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
"$PY" -c "import torch, ecogen.api; print('ecogen ready on torch', torch.__version__)" || exit 1
PYTHONUNBUFFERED=1 timeout 450 "$PY" benchmarks/gpu_check.py "$@"
