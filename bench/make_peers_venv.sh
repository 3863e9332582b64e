#!/usr/bin/env bash
# Peers for bench/peers.py live in their own venv (.venv-bench) so they never leak into the
# package's dependencies. It sees .venv's packages (torch 2.13.0 CPU, numpy, scikit-learn) through
# a .pth file, so no second torch is downloaded; only the peers themselves are installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(readlink -f .venv/bin/python)
test -x .venv-bench/bin/python || "$PY" -m venv .venv-bench
SITE=$(.venv/bin/python -c "import site; print(site.getsitepackages()[0])")
BENCH_SITE=$(.venv-bench/bin/python -c "import site; print(site.getsitepackages()[0])")
echo "$SITE" > "$BENCH_SITE/textbatch-main-venv.pth"
.venv-bench/bin/pip install -q "fasttext-wheel==0.9.2" "vowpalwabbit>=9.9" "keras>=3.3" "psutil>=5.9"
