# Shared set-up for scripts/serve, scripts/test and scripts/leadpool: uv, then the locked
# dependencies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# pip --user puts uv in ~/.local/bin, which a fresh shell often lacks on PATH: look there too.
if ! command -v uv >/dev/null 2>&1 && [ -x "$HOME/.local/bin/uv" ]; then
  export PATH="$HOME/.local/bin:$PATH"
fi
if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv (the Python package manager these scripts use) with pip…" >&2
  if ! python3 -m pip install --quiet --user uv 2>/dev/null && ! python3 -m pip install --quiet uv; then
    echo "could not install uv with pip: install it yourself (https://docs.astral.sh/uv/), then run this again" >&2
    exit 1
  fi
  export PATH="$HOME/.local/bin:$PATH"
  if [ "$(command -v uv)" = "$HOME/.local/bin/uv" ]; then
    echo "uv is in ~/.local/bin; ./scripts/leadpool finds it there. To run uv yourself:" >&2
    echo "  export PATH=\"\$HOME/.local/bin:\$PATH\"" >&2
  fi
fi
uv sync --frozen --quiet
