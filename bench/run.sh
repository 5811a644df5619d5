#!/usr/bin/env bash
# Our client side by side with jetcd 0.8.5 in one JVM run, and with etcd's own Go client (clientv3 3.4.23) in a child
# process, against a single-member etcd (fsync on).
#
#   bench/run.sh            full run (about 9 minutes): every workload, two rounds per client and cell
#   bench/run.sh --quick    under 4 minutes: one round per client and cell (Go: no get-serializable)
#   bench/run.sh --no-build ...         skip the Maven build (use what bench/target holds)
#   bench/run.sh --jfr ...              also record a JFR profile to bench/target/bench.jfr
#   other arguments go to io.etcdrecipes.bench.Bench: --workloads put,txn  --clients etcd-recipes,go
#   --concurrency 1,16  --seconds 3  --rounds 2  --endpoints http://h:2379 (an existing cluster)
#
# The Go client's program (bench/go/src/etcdbench) is built by scripts/ensure-go.sh, offline, from Debian's golang-go and
# golang-etcd-server-dev (installed when missing, as root on Debian); when it cannot be had the run goes on without the
# Go rows and says why, at the start and in the table's "clients" line.
#
# Writes bench/results/latest.jsonl, latest.txt, latest.png and latest.tree.txt (what was built). On a shared
# machine hold the build lock for the whole run so no build disturbs the figures:
#   flock /tmp/etcd-recipes-mvn.lock bench/run.sh --quick      (this script takes no lock itself, so that works)
# The build skips compiling tests (-Dmaven.test.skip): a test being edited elsewhere in the tree cannot stop it.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
jfr=()
args=()
out=bench/results
clients=go
prev=
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --jfr) jfr=("-XX:StartFlightRecording=filename=bench/target/bench.jfr,settings=profile,dumponexit=true") ;;
    *) args+=("$a")
       if [ "$prev" = --out ]; then out="$a"; fi
       if [ "$prev" = --clients ]; then clients="$a"; fi ;;
  esac
  prev="$a"
done

[ -n "${ETCD_BINARY:-}" ] || command -v etcd >/dev/null 2>&1 || bash scripts/ensure-etcd.sh

# The bench builds the working tree, not a commit: record what it was built from (HEAD, and every file of the built
# modules that differs from HEAD, with its sha1); copied to bench/results/latest.tree.txt when the run succeeds.
built_paths=(pom.xml proto testkit client-transport recipes-core recipes-lock recipes-election recipes-queue bench/pom.xml bench/src
  bench/go bench/run.sh scripts/ensure-go.sh)
record_tree() {
  {
    echo "HEAD $(git rev-parse HEAD 2>/dev/null || echo unknown) $(git log -1 --format='%s' 2>/dev/null)"
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from the working tree; files of the built modules that differ from HEAD:"
    git status --porcelain -- "${built_paths[@]}" 2>/dev/null | while IFS= read -r line; do
      f="${line:3}"; f="${f##* -> }"
      if [ -f "$f" ]; then echo "$line  sha1 $(sha1sum "$f" | cut -c1-12)"; else echo "$line"; fi
    done
  } > bench/target/tree.txt
}

if [ "$build" = 1 ] || [ ! -f bench/target/classpath.txt ]; then
  echo "building bench (mvn -pl bench -am install -Dmaven.test.skip)..."
  mvn -B -q -o -ntp -pl bench -am install -Dmaven.test.skip 2>/dev/null \
    || mvn -B -q -ntp -pl bench -am install -Dmaven.test.skip
  # a private copy of every jar: a build by someone else that installs into ~/.m2 cannot change the jars
  # under a running bench
  rm -rf bench/target/lib
  mvn -B -q -o -ntp -pl bench dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib >/dev/null \
    || mvn -B -q -ntp -pl bench dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib >/dev/null
  ls bench/target/lib/*.jar | tr '\n' ':' > bench/target/classpath.txt
  record_tree
fi
[ -f bench/target/tree.txt ] || record_tree

# etcd's Go client: its program, or why its rows are skipped
go_args=()
case ",$clients," in
  *,go,*)
    go_bin=bench/target/go/etcdbench
    if [ "$build" = 1 ] || [ ! -x "$go_bin" ]; then
      if go_bin=$(bash scripts/ensure-go.sh "$go_bin"); then :; else
        go_args=(--go-skipped "${go_bin:-scripts/ensure-go.sh failed}")
        echo "bench: the Go client's rows will be SKIPPED: ${go_bin:-scripts/ensure-go.sh failed}" >&2
      fi
    fi
    [ ${#go_args[@]} -gt 0 ] || go_args=(--go "$go_bin") ;;
esac
rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if grep -q '^.. ' bench/target/tree.txt; then
  rev="$rev+working-tree"
fi

mkdir -p "$out"
java -Xms2g -Xmx2g -XX:+UseG1GC -Djava.awt.headless=true \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  "${jfr[@]}" \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
  io.etcdrecipes.bench.Bench --git "$rev" ${go_args[@]+"${go_args[@]}"} "${args[@]}"
cp bench/target/tree.txt "$out/latest.tree.txt"
