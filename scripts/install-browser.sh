#!/usr/bin/env bash
# Installs what the browser tests (tests/test_pages.py) need on a fresh Debian machine, and nothing when it is
# already there:
#   - Debian's Chromium at /usr/bin/chromium (Playwright drives it; `playwright install` is never run),
#   - fonts with Cyrillic letters, so the Ukrainian screens render as people see them,
#   - Playwright for Python (the library only),
#   - axe-core from npm, under .cache/axe (the tests inject axe.min.js into every page).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
fi

packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
command -v npm >/dev/null 2>&1 || packages+=(npm)
fonts="$(fc-list : family 2>/dev/null || true)"   # read whole: `grep -q` on a pipe would trip pipefail
if ! grep -qi "DejaVu Sans" <<<"$fonts"; then
    packages+=(fontconfig fonts-dejavu-core)
fi
if [ "${#packages[@]}" -gt 0 ]; then
    echo "install-browser: apt-get install ${packages[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

# Playwright 1.49+ (page.route_web_socket); only the Python package, which talks to /usr/bin/chromium.
if ! python3 - <<'PY' 2>/dev/null
import importlib.metadata as m
major, minor = (int(x) for x in m.version("playwright").split(".")[:2])
raise SystemExit(0 if (major, minor) >= (1, 49) else 1)
PY
then
    echo "install-browser: pip install playwright"
    python3 -m pip install --quiet --disable-pip-version-check 'playwright>=1.49'
fi

if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then
    echo "install-browser: npm install axe-core@4"
    mkdir -p .cache/axe
    npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@4
fi

/usr/bin/chromium --version
python3 -c 'import importlib.metadata as m; print("playwright", m.version("playwright"))'
echo "axe-core $(node -p "require('./.cache/axe/node_modules/axe-core/package.json').version" 2>/dev/null || echo '(installed)')"
