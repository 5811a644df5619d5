#!/usr/bin/env bash
# Runs every test of etcd-recipes against real etcd processes (started by the testkit).
# Installs etcd, etcdctl and iptables first when they are missing (Debian, as root).
# Long soak tests are not part of this run: mvn -Psoak test
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/ensure-etcd.sh
echo "etcd: $(command -v etcd || echo "$ETCD_BINARY") ($(etcd --version 2>/dev/null | head -1 || true))"
exec mvn -B -ntp install "$@"
