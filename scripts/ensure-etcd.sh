#!/usr/bin/env bash
# Makes sure etcd (server), etcdctl and iptables are installed; installs them with apt-get when
# they are missing and we can, and says clearly what to install when we cannot.
set -euo pipefail

missing=()
command -v etcd >/dev/null 2>&1 || [ -n "${ETCD_BINARY:-}" ] || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "etcd-recipes: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo -n apt-get update -qq
  sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "etcd-recipes: missing ${missing[*]}." >&2
  echo "  On Debian/Ubuntu, as root: apt-get install ${missing[*]}" >&2
  echo "  Elsewhere: put etcd 3.4+ on PATH (or set ETCD_BINARY), and etcdctl, a JDK 17 and Maven 3.8+." >&2
  exit 1
fi
command -v etcd >/dev/null 2>&1 || [ -n "${ETCD_BINARY:-}" ] || { echo "etcd still not on PATH" >&2; exit 1; }
