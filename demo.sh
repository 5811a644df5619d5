#!/usr/bin/env bash
# The main job of etcd-recipes: builds what it needs, starts a local 3-member etcd cluster from the
# etcd binary (or uses ETCD_ENDPOINTS when set), shows the client at work while a member is killed,
# and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")"
[ -n "${ETCD_ENDPOINTS:-}" ] || bash scripts/ensure-etcd.sh
mvn -B -q -ntp install -DskipTests
exec mvn -B -q -ntp -pl examples exec:java -Dexec.mainClass=io.etcdrecipes.examples.Demo
