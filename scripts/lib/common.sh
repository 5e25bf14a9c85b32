# Shared by scripts/run and scripts/test: the project's virtualenv, installed from pyproject.toml.
# Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '[msc] %s\n' "$*" >&2; }

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  log "Python >= 3.11 is required"
  return 1
}

# ensure_venv EXTRAS: create .venv if missing; install the locked dependencies (hash-checked) and
# the project itself whenever the lock or pyproject.toml changed. EXTRAS is "" (run) or "dev".
ensure_venv() {
  local extras="$1" stamp wanted python lock
  lock="$ROOT/requirements/${extras:-run}.lock"
  if [ ! -f "$lock" ]; then
    log "missing $lock (scripts/lock writes it)"
    return 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    python="$(find_python)"
    log "creating $VENV"
    "$python" -m venv "$VENV"
  fi
  stamp="$VENV/.msc-installed"
  wanted="$(cat "$ROOT/pyproject.toml" "$lock" | sha256sum | cut -c1-16)-$extras"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    log "installing the locked dependencies (${lock#"$ROOT/"}) into .venv"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes --only-binary :all: -r "$lock"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT"
    echo "$wanted" >"$stamp"
  fi
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
