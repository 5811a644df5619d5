#!/usr/bin/env bash
# Runs every test of etcd-recipes against real etcd processes (started by the testkit), in one Maven
# run: the whole suite on the system's etcd (3.4.23 on Debian 12), then a second pass on etcd 3.5 of
# proto's WireTest, every *InteropTest and every test of the recipe modules (docs/test-matrix.md).
# Installs etcd, etcdctl and iptables first when they are missing (Debian, as root), and provides
# etcd 3.5 in a cache folder (scripts/ensure-etcd.sh --etcd35); without etcd 3.5 it fails, unless
# ETCD35=skip, which runs the suite on the system's etcd only. The tests that isolate members (@NeedsIsolation)
# need root, setpriv and iptables: without them it fails at once, unless ETCD_RECIPES_SKIP_ROOT_TESTS=1, which
# skips those tests and names them in a banner before and after the run.
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

# Tests marked @NeedsIsolation cut etcd members off from their peers: each member runs as its own uid and iptables
# drops its peer traffic, which needs root, setpriv and a working iptables. Where that cannot work those tests fail
# (they never skip silently); ETCD_RECIPES_SKIP_ROOT_TESTS=1 skips them instead, and a banner names each one.
isolation_problem=""
if [ "$(id -u)" -ne 0 ]; then
  isolation_problem="not running as root (uid $(id -u))"
elif ! command -v setpriv >/dev/null 2>&1; then
  isolation_problem="setpriv (util-linux) not found"
elif ! command -v iptables >/dev/null 2>&1; then
  isolation_problem="iptables not found"
elif ! iptables_out=$(iptables -w 10 -n -L OUTPUT 2>&1); then
  isolation_problem="'iptables -n -L OUTPUT' fails here: $(printf '%s' "$iptables_out" | head -1)"
fi

# Every test marked @NeedsIsolation, as module/Class or module/Class#method (read from the sources).
isolation_tests() {
  grep -rlx --include='*.java' '[[:space:]]*@NeedsIsolation[[:space:]]*' -- */src/test 2>/dev/null | sort | while read -r f; do
    awk -v mod="${f%%/src/test/*}" '
      /^[[:space:]]*@NeedsIsolation[[:space:]]*$/ { marked = 1; next }
      marked && /(^|[[:space:]])class[[:space:]]/ { match($0, /class[[:space:]]+[A-Za-z0-9_]+/); cls = substr($0, RSTART + 6, RLENGTH - 6); gsub(/[[:space:]]/, "", cls); print mod "/" cls " (every test)"; marked = 0; next }
      marked && /void[[:space:]]+[A-Za-z0-9_]+[[:space:]]*\(/ { match($0, /void[[:space:]]+[A-Za-z0-9_]+/); m = substr($0, RSTART + 5, RLENGTH - 5); gsub(/[[:space:]]/, "", m); n = split(FILENAME, parts, "/"); c = parts[n]; sub(/\.java$/, "", c); print mod "/" c "#" m; marked = 0; next }
    ' "$f"
  done
}

skip_report=""
if [ -n "$isolation_problem" ]; then
  if [ "${ETCD_RECIPES_SKIP_ROOT_TESTS:-}" != 1 ]; then
    echo "etcd-recipes: the tests that isolate etcd members cannot run here: $isolation_problem." >&2
    echo "  They need root, setpriv (util-linux) and a working iptables (apt-get install iptables). Run ./test.sh as" >&2
    echo "  root, or skip them explicitly with ETCD_RECIPES_SKIP_ROOT_TESTS=1 ./test.sh. The tests that need them:" >&2
    isolation_tests | sed 's/^/    /' >&2
    exit 1
  fi
  skip_report=$(mktemp "${TMPDIR:-/tmp}/etcd-recipes-skipped.XXXXXX")
  export ETCD_RECIPES_SKIP_REPORT="$skip_report"
  echo "################################################################################"
  echo "# ETCD_RECIPES_SKIP_ROOT_TESTS=1 ($isolation_problem): these tests do NOT run:"
  isolation_tests | sed 's/^/#   /'
  echo "################################################################################"
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
if [ -z "$skip_report" ]; then
  exec mvn -B -ntp install ${args[@]+"${args[@]}"} "$@"
fi
rc=0
mvn -B -ntp install ${args[@]+"${args[@]}"} "$@" || rc=$?
echo "################################################################################"
echo "# ETCD_RECIPES_SKIP_ROOT_TESTS=1 ($isolation_problem): skipped, NOT run:"
if [ -s "$skip_report" ]; then
  sort "$skip_report" | sed 's/: .*//; s/^/#   /'
else
  echo "#   (none reached: the build stopped before them)"
fi
echo "################################################################################"
rm -f "$skip_report"
exit "$rc"
