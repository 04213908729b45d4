#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, then runs them. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
if [ -f scripts/install-browser.sh ]; then bash scripts/install-browser.sh; fi
python3 -m ruff check cherga tests bench
python3 -m mypy
# a wheel built from this checkout, installed into a fresh venv, runs the compiled engine (issue 16.4)
bash scripts/check-wheel.sh
# two workers, a test file each at a time (a file's servers are started once): most tests wait on servers and
# browsers, so two run side by side on two cores; the benches (bench/) stay serial
CHERGA_EXPECT_COMPILED=1 python3 -m pytest -n 2 --dist loadfile "$@"
