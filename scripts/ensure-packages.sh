# ensure_packages CMD[:DEBIAN_PACKAGE] ... — installs the Debian package for each command
# that is not on PATH (as root through apt-get; otherwise says what to install).
ensure_packages() {
  local missing=()
  for spec in "$@"; do
    local cmd="${spec%%:*}" pkg="${spec#*:}"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian packages: ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: missing ${missing[*]}; install them (sudo apt-get install ${missing[*]}) for the tests that need them." >&2
  fi
}
