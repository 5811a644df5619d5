#!/usr/bin/env bash
# Our client side by side with jetcd 0.8.5 in one JVM run against a single-member etcd (fsync on).
#
#   bench/run.sh            full run (about 8 minutes): every workload, two rounds per client and cell
#   bench/run.sh --quick    under 3 minutes: one round per client and cell
#   bench/run.sh --no-build ...         skip the Maven build (use what bench/target holds)
#   bench/run.sh --jfr ...              also record a JFR profile to bench/target/bench.jfr
#   other arguments go to io.etcdrecipes.bench.Bench: --workloads put,txn  --clients jetcd
#   --concurrency 1,16  --seconds 3  --rounds 2  --endpoints http://h:2379 (an existing cluster)
#
# Writes bench/results/latest.jsonl, latest.txt and latest.png. On a shared machine hold the build lock
# for the whole run so no build disturbs the figures:  flock /tmp/etcd-recipes-mvn.lock bench/run.sh --quick
# (this script takes no lock itself, so that works).
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
jfr=()
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --jfr) jfr=("-XX:StartFlightRecording=filename=bench/target/bench.jfr,settings=profile,dumponexit=true") ;;
    *) args+=("$a") ;;
  esac
done

[ -n "${ETCD_BINARY:-}" ] || command -v etcd >/dev/null 2>&1 || bash scripts/ensure-etcd.sh

if [ "$build" = 1 ] || [ ! -f bench/target/classpath.txt ]; then
  echo "building bench (mvn -pl bench -am install -DskipTests)..."
  mvn -B -q -o -ntp -pl bench -am install -DskipTests 2>/dev/null \
    || mvn -B -q -ntp -pl bench -am install -DskipTests
  # a private copy of every jar: a build by someone else that installs into ~/.m2 cannot change the jars
  # under a running bench
  rm -rf bench/target/lib
  mvn -B -q -o -ntp -pl bench dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib >/dev/null
  ls bench/target/lib/*.jar | tr '\n' ':' > bench/target/classpath.txt
fi

mkdir -p bench/results
exec java -Xms2g -Xmx2g -XX:+UseG1GC -Djava.awt.headless=true \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  "${jfr[@]}" \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
  io.etcdrecipes.bench.Bench --git "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "${args[@]}"
