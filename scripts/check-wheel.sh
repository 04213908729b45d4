#!/usr/bin/env bash
# A fresh install of cherga runs the compiled engine (issue 16.4). Builds a wheel from the checkout's files, installs
# it into a fresh venv and checks, from outside the checkout, that cherga.engine.COMPILED is True and that every
# compiled module in use is the venv's .so. pip writes each .py after its .so, so a staleness test by file times
# turned the engine off after every install; the build now records the sources' hashes (cherga/engine/_buildhash.py).
#
# The build runs in .cache/wheel-build (ignored by git; never in the checkout itself, whose build/ belongs to
# `pip install -e .`): a copy of the checkout's files that keeps its build tree and mypy cache between runs, so an
# unchanged engine is not compiled again (2 shared cores, load 8-15: 82-494 s the first time, 92 s after).
# --no-build-isolation: the build uses this environment's setuptools and mypy (scripts/test.sh installs them) instead
# of downloading them. The venv sees this environment's packages (--system-site-packages: no downloads) but cherga
# itself is the wheel's, installed fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
cache="${CHERGA_WHEEL_CACHE:-$repo/.cache/wheel-build}"  # elsewhere for a run that must not write in the checkout
src="$cache/src"
mkdir -p "$src"
# the checkout's files (tracked and new, not ignored) with their times, over the previous copy's build tree
find "$src" -mindepth 1 -maxdepth 1 ! -name build ! -name .mypy_cache -exec rm -rf {} +
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$src"
# the build tree keeps its compiled modules (so an unchanged engine is not compiled again), nothing else: a module
# deleted from the checkout must not linger in the next wheel
find "$src/build" -path "*/lib.*" -type f ! -name "*.so" -delete 2>/dev/null || true

work=$(mktemp -d "${TMPDIR:-/tmp}/cherga-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
if ! python3 -m pip wheel "$src" --no-deps --no-build-isolation --disable-pip-version-check -v -w "$work/dist" \
        > "$work/build.log" 2>&1; then
    tail -n 60 "$work/build.log"; echo "check-wheel: the wheel did not build" >&2; exit 1
fi
wheel=$(ls "$work"/dist/cherga-*.whl)
if [[ "$wheel" == *-none-any.whl ]]; then  # setup.py fell back to plain Python: say why
    grep -E "not compiling the engine|error:" "$work/build.log" | tail -n 30 >&2 || true
    echo "check-wheel: $(basename "$wheel") holds no compiled engine: the build did not compile it" >&2; exit 1
fi
python3 -m venv --system-site-packages --without-pip "$work/venv"
"$work/venv/bin/python" -m pip install --no-deps --no-index --disable-pip-version-check --quiet "$wheel"
echo "check-wheel: built and installed $(basename "$wheel") in $(( $(date +%s) - start )) s"

cd "$work"  # outside the checkout; -I: no PYTHONPATH, no current directory, no user site
"$work/venv/bin/python" -I -W error::RuntimeWarning - "$work/venv" <<'EOF'
import importlib, importlib.machinery, sys
from pathlib import Path

import cherga, cherga.engine

venv = Path(sys.argv[1]).resolve()
where = Path(cherga.__file__).resolve()
assert venv in where.parents, f"cherga imported from {where}, not from the fresh venv {venv}"
assert cherga.engine.COMPILED is True, "the freshly installed engine runs from its Python sources"
newer = 0
for name in cherga.engine.COMPILED_MODULES:
    module = importlib.import_module(name)
    path = Path(module.__file__).resolve()
    assert venv in path.parents and path.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), \
        f"{name} in use is {path}, not the wheel's compiled module"
    source = path.parent / (name.rpartition(".")[2] + ".py")
    newer += source.stat().st_mtime > path.stat().st_mtime
print(f"check-wheel: compiled engine in use from {where.parent} ({len(cherga.engine.COMPILED_MODULES)} modules; "
      f"{newer} of their .py written after the .so, which file times would have taken for stale)")
EOF
