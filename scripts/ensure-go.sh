#!/usr/bin/env bash
# Builds the bench's Go program (bench/go/src/etcdbench: etcd's own Go client, clientv3 3.4), offline, from
# Debian's packages golang-go (Go 1.19) and golang-etcd-server-dev (etcd 3.4.23's sources, clientv3 and
# clientv3/concurrency among them, under /usr/share/gocode). Installs the two packages with apt-get when they
# are missing and this is Debian as root (or with password-less sudo).
#
#   scripts/ensure-go.sh [OUTPUT]     default OUTPUT: bench/target/go/etcdbench
#
# On success: the binary's path is the only line on stdout (build output goes to stderr). When Go cannot be
# had or the build fails: exit status 1 and one line on stdout saying why (details on stderr), so that
# bench/run.sh can skip the Go rows and say why. GOPATH mode (GO111MODULE=off), GOPATH = a folder under
# bench/target, bench/go and the gocode folder; GOPROXY=off and GOFLAGS empty: nothing is ever downloaded.
# The build is skipped when the binary is newer than every Go source of bench/go.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

out=${1:-bench/target/go/etcdbench}
packages=(golang-go golang-etcd-server-dev)

skip() {
  echo "$*"
  echo "etcd-recipes: no Go bench: $*" >&2
  exit 1
}

# The GOPATH root that holds go.etcd.io/etcd/clientv3, from the package's file list (else the usual place).
gocode_root() {
  local f
  f=$(dpkg -L golang-etcd-server-dev 2>/dev/null | grep -m1 '/src/go.etcd.io/etcd/clientv3/concurrency/mutex.go$') || true
  if [ -n "$f" ]; then
    echo "${f%/src/go.etcd.io/etcd/clientv3/concurrency/mutex.go}"
  elif [ -f /usr/share/gocode/src/go.etcd.io/etcd/clientv3/concurrency/mutex.go ]; then
    echo /usr/share/gocode
  fi
}

have() {
  command -v go >/dev/null 2>&1 && [ -n "$(gocode_root)" ]
}

if ! have; then
  if ! command -v apt-get >/dev/null 2>&1; then
    skip "Go 1.19+ and etcd 3.4's clientv3 sources are missing and this is no Debian-like machine (install golang-go and golang-etcd-server-dev, or their equivalents)"
  fi
  echo "etcd-recipes: installing ${packages[*]} for the Go bench" >&2
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    skip "${packages[*]} are not installed and installing them needs root (as root: apt-get install ${packages[*]})"
  fi
  { "${sudo[@]}" apt-get update -qq \
      && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"; \
  } >&2 || skip "apt-get install ${packages[*]} failed (see above)"
  have || skip "${packages[*]} are installed but go or clientv3's sources are still not found"
fi

gocode=$(gocode_root)
src=bench/go/src/etcdbench
if [ -x "$out" ] && [ -z "$(find bench/go -name '*.go' -newer "$out" 2>/dev/null)" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$(dirname "$out")" bench/target/go/gopath
echo "etcd-recipes: building $out ($(go version | cut -d' ' -f3), clientv3 from $gocode)" >&2
if ! env GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH="$PWD/bench/target/go/gopath:$PWD/bench/go:$gocode" \
    go build -o "$out" etcdbench >&2; then
  skip "go build of $src failed (see above)"
fi
echo "$out"
