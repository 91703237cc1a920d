# Shared by tools/run, tools/test and .ci/run: install what the build and tests need on
# Debian/Ubuntu, using sudo only when not already root.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_system_packages() {
  if ! pkg-config --exists libzmq sqlite3 2>/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzmq3-dev libsqlite3-dev pkg-config >/dev/null
  fi
}

# The real servers the end-to-end tests start on loopback ports (Tests/EndToEnd/real_servers.py):
# Debian's Prometheus (promtool comes with it) and Alertmanager. Installed only, never started
# as services.
ensure_test_servers() {
  # PostgreSQL: the cluster store's tests start their own server from these binaries on a
  # free loopback port (Tests/ClusterStoreTests/TestPostgres.swift); the package's own
  # service is not used.
  if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null ||
    ! command -v prometheus-alertmanager >/dev/null || ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      prometheus prometheus-alertmanager postgresql >/dev/null
  fi
}

ensure_python_packages() {
  if ! python3 -c 'import zmq, pytest' 2>/dev/null; then
    python3 -m pip install --quiet pyzmq pytest 2>/dev/null ||
      python3 -m pip install --quiet --break-system-packages pyzmq pytest
  fi
}
