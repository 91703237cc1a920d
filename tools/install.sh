#!/usr/bin/env bash
# Builds anomalyd in release mode and installs it as a systemd service.
#   sudo tools/install.sh            install binaries, config (if absent), unit and user
#   sudo systemctl enable --now anomalyd
# Re-running it upgrades the binaries and the unit and keeps /etc/anomalyd/anomalyd.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "run as root (sudo $0)" >&2; exit 1; fi
command -v pkg-config >/dev/null && pkg-config --exists libzmq || apt-get install -y libzmq3-dev pkg-config
swift build -c release
install -m 0755 .build/release/anomalyd .build/release/anomalyctl /usr/local/bin/
install -d -m 0755 /etc/anomalyd
[ -e /etc/anomalyd/anomalyd.toml ] || install -m 0644 config/anomalyd.toml /etc/anomalyd/anomalyd.toml
install -m 0644 config/prometheus-rules.yml /etc/anomalyd/prometheus-rules.yml
install -m 0644 systemd/anomalyd.service systemd/anomalyd@.service /etc/systemd/system/
install -d -m 0755 /usr/local/share/doc/anomalyd
install -m 0644 README.md docs/*.md /usr/local/share/doc/anomalyd/
install -D -m 0644 systemd/anomalyd.sysusers.conf /usr/lib/sysusers.d/anomalyd.conf
systemd-sysusers /usr/lib/sysusers.d/anomalyd.conf
/usr/local/bin/anomalyd --config /etc/anomalyd/anomalyd.toml --check-config >/dev/null
systemctl daemon-reload
echo "installed. Start with: systemctl enable --now anomalyd"
echo "operators: usermod -aG anomalyd <user>   (then anomalyctl info works without sudo)"
