# Shared by scripts/run and scripts/test: the project's virtualenv, installed from pyproject.toml.
# Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '[msc] %s\n' "$*" >&2; }

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      command -v "$candidate"
      return 0
    fi
  done
  log "Python >= 3.11 is required"
  return 1
}

# ensure_venv EXTRAS: create .venv if missing; (re)install when pyproject.toml changed.
ensure_venv() {
  local extras="$1" stamp wanted python
  if [ ! -x "$VENV/bin/python" ]; then
    python="$(find_python)"
    log "creating $VENV"
    "$python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
  fi
  stamp="$VENV/.msc-installed"
  wanted="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    log "installing msc-settlement${extras:+ [$extras]} into .venv"
    local spec="$ROOT"
    [ -n "$extras" ] && spec="$ROOT[$extras]"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
    echo "$wanted" >"$stamp"
  fi
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
