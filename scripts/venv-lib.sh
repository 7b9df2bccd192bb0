# Sourced: tool_venv DIR PACKAGE... makes a Python virtual environment at DIR holding
# PACKAGE... (from PyPI) unless it has them already; python3-venv comes from Debian
# when missing. Our Python test tools each get one under target/tools.
tool_venv() {
  local venv=$1 module=$2
  shift 2
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import $module" 2>/dev/null; then
    return 0
  fi
  if ! python3 -m venv "$venv" 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q "$@"
}
