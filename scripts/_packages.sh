# System packages for scripts/test: say what is installed and why before doing it, as root or
# with sudo, and stop with what to install by hand when neither works. Sourced; defines functions.

# as_root CMD...: run CMD as root (directly when root, else with sudo if there is one).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    return 127
  fi
}

# apt_install WHY PACKAGE...: install Debian packages for WHY, or exit saying how to get them.
apt_install() {
  local why="$1"
  shift
  local by_hand="install them yourself (sudo apt-get install $*), then run this again"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$why needs $*, and there is no apt-get here: $by_hand with your system's package manager." >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "$why needs $*, which only root can install, and there is no sudo: $by_hand as root." >&2
    exit 1
  fi
  echo "$why needs $*: installing it with apt-get$([ "$(id -u)" -eq 0 ] || echo ' (sudo)')…" >&2
  if ! as_root apt-get update -qq \
    || ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; then
    echo "apt-get could not install $*: $by_hand." >&2
    exit 1
  fi
}
