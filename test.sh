#!/usr/bin/env bash
# Runs every test of etcd-recipes against real etcd processes (started by the testkit), in one Maven
# run: the whole suite on the system's etcd (3.4.23 on Debian 12), then a second pass on etcd 3.5 of
# proto's WireTest, every *InteropTest and every test of the recipe modules (docs/test-matrix.md).
# Installs etcd, etcdctl and iptables first when they are missing (Debian, as root), and provides
# etcd 3.5 in a cache folder (scripts/ensure-etcd.sh --etcd35); without etcd 3.5 it fails, unless
# ETCD35=skip, which runs the suite on the system's etcd only.
# Long soak tests are not part of this run: mvn -Psoak test
set -euo pipefail
cd "$(dirname "$0")"

etcd35=""
if [ "${ETCD35:-}" = skip ]; then
  bash scripts/ensure-etcd.sh
else
  etcd35=$(bash scripts/ensure-etcd.sh --etcd35) || {
    echo "etcd-recipes: no etcd 3.5 for the second test pass (see above); ETCD35=skip ./test.sh runs without it" >&2
    exit 1
  }
fi

echo "etcd: $(command -v etcd || echo "$ETCD_BINARY") ($(etcd --version 2>/dev/null | head -1 || true))"
args=()
if [ -n "$etcd35" ]; then
  echo "etcd 3.5 pass: $etcd35 ($("$etcd35" --version 2>/dev/null | head -1 || true)), etcdctl from the same folder"
  args+=("-Detcd35.dir=$(dirname "$etcd35")")
else
  echo "################################################################################"
  echo "# ETCD35=skip: the etcd 3.5 test pass does NOT run (docs/test-matrix.md)"
  echo "################################################################################"
fi
exec mvn -B -ntp install ${args[@]+"${args[@]}"} "$@"
