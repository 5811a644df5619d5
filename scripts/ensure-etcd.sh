#!/usr/bin/env bash
# Makes sure etcd (server), etcdctl and iptables are installed; installs them with apt-get when
# they are missing and we can, and says clearly what to install when we cannot.
#
# With --etcd35 it also provides etcd 3.5 (etcd and etcdctl) without installing it system-wide and
# prints the path of that etcd binary as the only line on stdout (everything else goes to stderr):
#   1. $ETCD35_BINARY when set (an etcd 3.5 binary; its etcdctl should sit next to it);
#   2. else the newest etcd-3.5.*/usr/bin/etcd already unpacked in the cache (no network then);
#   3. else Debian's etcd-server and etcd-client 3.5 packages from a newer suite (default "forky
#      trixie": forky has 3.5.30, trixie 3.5.16; the newest 3.5.x wins), fetched from the Debian
#      mirror this machine's apt sources already use, with a private apt configuration (its own
#      sources file, lists and cache under the cache folder: the system's apt state is not touched),
#      and unpacked with dpkg -x into the cache.
# Cache: ${ETCD_RECIPES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-recipes}. ETCD35_REFRESH=1 looks
# for a newer 3.5 even when one is cached; ETCD35_SUITES and ETCD35_MIRROR override the suites and
# the mirror URI. See docs/test-matrix.md.
set -euo pipefail
export LC_ALL=C

want35=false
for arg in "$@"; do
  case "$arg" in
    --etcd35) want35=true ;;
    *) echo "usage: $0 [--etcd35]" >&2; exit 2 ;;
  esac
done

missing=()
command -v etcd >/dev/null 2>&1 || [ -n "${ETCD_BINARY:-}" ] || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)

if [ ${#missing[@]} -gt 0 ]; then
  echo "etcd-recipes: installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n apt-get update -qq >&2
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "etcd-recipes: missing ${missing[*]}." >&2
    echo "  On Debian/Ubuntu, as root: apt-get install ${missing[*]}" >&2
    echo "  Elsewhere: put etcd 3.4+ on PATH (or set ETCD_BINARY), and etcdctl, a JDK 17 and Maven 3.8+." >&2
    exit 1
  fi
  command -v etcd >/dev/null 2>&1 || [ -n "${ETCD_BINARY:-}" ] || { echo "etcd still not on PATH" >&2; exit 1; }
fi

$want35 || exit 0

# ------------------------------------------------------------------------------------ etcd 3.5

fail35() {
  echo "etcd-recipes: cannot provide etcd 3.5: $*" >&2
  echo "  Either set ETCD35_BINARY to an etcd 3.5 binary (with etcdctl 3.5 in the same directory)," >&2
  echo "  or run ./test.sh with ETCD35=skip to run the suite on the system's etcd only." >&2
  exit 1
}

# "etcd Version: 3.5.30" -> 3.5.30
version_of() {
  "$1" --version 2>/dev/null | sed -n 's/^etcd Version: *//p' | head -1
}

if [ -n "${ETCD35_BINARY:-}" ]; then
  [ -x "$ETCD35_BINARY" ] || fail35 "ETCD35_BINARY=$ETCD35_BINARY is not an executable file"
  v=$(version_of "$ETCD35_BINARY")
  case "$v" in 3.5.*) ;; *) fail35 "ETCD35_BINARY=$ETCD35_BINARY reports version '${v:-?}', not 3.5.x" ;; esac
  [ -x "$(dirname "$ETCD35_BINARY")/etcdctl" ] \
    || echo "etcd-recipes: warning: no etcdctl next to $ETCD35_BINARY; the etcd 3.5 tests will use etcdctl from PATH" >&2
  echo "$ETCD35_BINARY"
  exit 0
fi

cache=${ETCD_RECIPES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-recipes}
mkdir -p "$cache" || fail35 "cannot create the cache folder $cache"

# The newest complete etcd-3.5.* in the cache, or nothing.
cached35() {
  local d
  for d in $(ls -d "$cache"/etcd-3.5.* 2>/dev/null | sort -V -r); do
    if [ -x "$d/usr/bin/etcd" ] && [ -x "$d/usr/bin/etcdctl" ]; then
      echo "$d/usr/bin/etcd"
      return 0
    fi
  done
  return 1
}

if [ "${ETCD35_REFRESH:-}" != 1 ] && bin=$(cached35); then
  echo "$bin"
  exit 0
fi

# One download at a time (concurrent test runs share the cache).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.lock"
  flock -w 600 9 || fail35 "another ensure-etcd.sh has held $cache/.lock for 10 minutes"
  if [ "${ETCD35_REFRESH:-}" != 1 ] && bin=$(cached35); then
    echo "$bin"
    exit 0
  fi
fi

command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 \
  || fail35 "this is no Debian-like machine (apt-get and dpkg are needed to fetch Debian's etcd 3.5 packages)"

# The Debian mirror this machine already uses: the URI of the deb source for its own release
# (deb822 "URIs:" in sources.list.d/*.sources, or one-line "deb URI SUITE ..." entries).
find_mirror() {
  local codename="" f
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in
      *.sources)
        awk -v codename="$codename" '
          function flush(  n, i, s, u) {
            if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^no/ && uris != "") {
              n = split(suites, s, /[ \t]+/)
              for (i = 1; i <= n; i++) if (s[i] != "" && (codename == "" || s[i] == codename)) { split(uris, u, /[ \t]+/); print u[1] }
            }
            types = ""; uris = ""; suites = ""; enabled = ""
          }
          /^[ \t]*$/ { flush(); next }
          /^[ \t]*#/ { next }
          { key = tolower($1); val = $0; sub(/^[^:]*:[ \t]*/, "", val) }
          key == "types:" { types = val }
          key == "uris:" { uris = val }
          key == "suites:" { suites = val }
          key == "enabled:" { enabled = tolower(val) }
          END { flush() }
        ' "$f" ;;
      *)
        awk -v codename="$codename" '
          $1 == "deb" {
            i = 2
            if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            if (i + 1 <= NF && (codename == "" || $(i + 1) == codename)) print $i
          }
        ' "$f" ;;
    esac
  done 2>/dev/null | grep -E '^https?://' | head -1
}

mirror=${ETCD35_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(find_mirror) || true
fi
[ -n "$mirror" ] || fail35 "found no http(s) Debian mirror for this release in /etc/apt/sources.list{,.d/*} (ETCD35_MIRROR=URI sets one)"

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || fail35 "$keyring is missing (apt-get install debian-archive-keyring)"

apt_dir="$cache/apt"
rm -rf "$apt_dir"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc/preferences.d" "$apt_dir/debs"
suites=${ETCD35_SUITES:-forky trixie}
for s in $suites; do
  echo "deb [signed-by=$keyring] $mirror $s main"
done >"$apt_dir/etc/sources.list"

arch=$(dpkg --print-architecture)
apt_opts=(
  -o "Dir::Etc::sourcelist=$apt_dir/etc/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::Etc::preferences=$apt_dir/etc/preferences"
  -o "Dir::Etc::preferencesparts=$apt_dir/etc/preferences.d"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Acquire::Languages=none"
  -o "APT::Architectures::=$arch"
)
# apt drops to the _apt user for downloads; that user cannot write under root's home.
[ "$(id -u)" -eq 0 ] && apt_opts+=(-o "APT::Sandbox::User=root")

echo "etcd-recipes: looking for etcd 3.5 in Debian $suites (private apt state under $apt_dir)" >&2
apt-get "${apt_opts[@]}" -qq --error-on=any update >&2 \
  || fail35 "apt-get update of the private sources ($apt_dir/etc/sources.list: $mirror $suites) failed"

# The newest 3.5.x of etcd-server that etcd-client also has, e.g. 3.5.30-2.
pick_version() {
  apt-cache "${apt_opts[@]}" madison "$1" 2>/dev/null | awk -F'|' '{gsub(/[ \t]/, "", $2); print $2}' \
    | grep -E '^([0-9]+:)?3\.5\.' | sort -u
}
deb_version=$(comm -12 <(pick_version etcd-server) <(pick_version etcd-client) | sort -V | tail -1)
[ -n "$deb_version" ] || fail35 "no etcd-server/etcd-client 3.5.x in Debian $suites at $mirror"

upstream=${deb_version#*:}
upstream=${upstream%%-*}
target="$cache/etcd-$upstream"
echo "etcd-recipes: fetching etcd-server and etcd-client $deb_version" >&2
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -qq download "etcd-server=$deb_version" "etcd-client=$deb_version" >&2) \
  || fail35 "apt-get download etcd-server=$deb_version etcd-client=$deb_version failed"

tmp="$cache/.etcd-$upstream.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
for deb in "$apt_dir"/debs/*.deb; do
  dpkg -x "$deb" "$tmp" || fail35 "dpkg -x $deb failed"
done
[ -x "$tmp/usr/bin/etcd" ] && [ -x "$tmp/usr/bin/etcdctl" ] || fail35 "the packages hold no usr/bin/etcd and usr/bin/etcdctl"
v=$(version_of "$tmp/usr/bin/etcd")
[ "$v" = "$upstream" ] || fail35 "the unpacked etcd reports version '${v:-?}' (expected $upstream); does it run on this machine?"
rm -rf "$target"
mv "$tmp" "$target"
rm -rf "$apt_dir" # lists and packages are 30+ MB; the unpacked binaries are all later runs need
echo "etcd-recipes: etcd $upstream and its etcdctl are in $target/usr/bin" >&2
echo "$target/usr/bin/etcd"
