# Sourced by scripts/run and scripts/test: a virtual environment in .venv with the given
# requirements file installed, reinstalling only when that file changed.
ensure_venv() {
  local requirements="$1"
  if [ ! -x .venv/bin/python ]; then
    echo "creating the virtual environment in .venv"
    if ! python3 -m venv .venv; then
      rm -rf .venv
      echo "could not create .venv: Python 3.11+ with venv is needed (Debian: apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
  local stamp=".venv/.installed-$(basename "$requirements")"
  local digest
  digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "installing $requirements"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$digest" > "$stamp"
  fi
}
