"""The CLI lists choices from a plain table and loads torch only when a command needs it."""

import subprocess
import sys

from ecogen.base.catalog import CATALOG, DEFAULT_METRICS
from ecogen.data import SOURCES
from ecogen.energy.sensors import SENSORS
from ecogen.metrics import EXTRACTORS, METRICS
from ecogen.metrics.registry import DEFAULT_METRICS as METRICS_DEFAULT
from ecogen.models import MODELS
from ecogen.training.augment import AUGMENTS
from ecogen.training.losses import LOSSES
from ecogen.training.trackers import TRACKERS


def test_the_catalog_lists_every_registered_name():
    registries = {"source": SOURCES, "sensor": SENSORS, "extractor": EXTRACTORS, "metric": METRICS,
                  "model": MODELS, "augment": AUGMENTS, "loss": LOSSES, "tracker": TRACKERS}
    assert set(CATALOG) == set(registries)
    for kind, registry in registries.items():
        assert list(CATALOG[kind]) == registry.names(), kind
    assert DEFAULT_METRICS == METRICS_DEFAULT


def test_help_and_version_do_not_import_torch():
    code = ("import sys\n"
            "from ecogen.cli import app\n"
            "for args in (['--help'], ['train', '--help'], ['eval', '--help'], ['transform', 'inpaint', '--help'],"
            " ['--version']):\n"
            "    try:\n"
            "        app(args)\n"
            "    except SystemExit as exit:\n"
            "        assert exit.code in (0, None), (args, exit.code)\n"
            "print('torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False"
