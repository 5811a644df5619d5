#!/usr/bin/env bash
# The main job of etcd-recipes: builds what it needs, starts a local 3-member etcd cluster from the
# etcd binary (or uses ETCD_ENDPOINTS when set), and shows the client and STM under failure: workers move
# money between accounts in STM transactions while a watcher prints every transfer; the member the
# workers talk to is killed and later restarted. Ends with a timeline, the number of transfers and
# conflicts, and the checks (total unchanged, every transfer seen once). Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")"
[ -n "${ETCD_ENDPOINTS:-}" ] || bash scripts/ensure-etcd.sh
mvn -B -q -ntp -pl examples -am install -DskipTests
exec mvn -B -q -ntp -pl examples exec:java -Dexec.mainClass=io.etcdrecipes.examples.Demo
