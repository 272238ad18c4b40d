#!/usr/bin/env bash
# Installs what the tests, benchmarks and the demo need on a fresh Debian machine:
# the network tools the capture pods and the dev cluster run, then the npm packages.
#   --ceph   also Ceph's monitor, OSD and RADOS Gateway (radosgw, ceph-mon, ceph-osd), for the
#            storage conformance tests and an RGW-backed demo: about 110 packages, 70 MB to
#            download, 310 MB on disk, ~3 minutes; so only the targets that use them ask for them.
set -euo pipefail
cd "$(dirname "$0")/.."

with_ceph=false
for arg in "$@"; do
  case "$arg" in
    --ceph) with_ceph=true ;;
    *) echo "install-deps: unknown argument $arg (known: --ceph)" >&2; exit 2 ;;
  esac
done

# binary -> Debian package
declare -A pkgs=(
  [tcpdump]=tcpdump [ip]=iproute2 [ping]=iputils-ping [iperf3]=iperf3 [nsenter]=util-linux
  [tshark]=tshark [dig]=dnsutils [nft]=nftables [ss]=iproute2 [ps]=procps [curl]=curl
  [tracepath]=iputils-tracepath [traceroute]=traceroute [iperf]=iperf [script]=bsdutils [ethtool]=ethtool [conntrack]=conntrack
  [strace]=strace [unshare]=util-linux [setpriv]=util-linux [prlimit]=util-linux [findmnt]=util-linux [mount]=mount
  [awk]=mawk [setsid]=util-linux [iptables-save]=iptables [sysctl]=procps
)
if $with_ceph; then
  pkgs+=([radosgw]=radosgw [radosgw-admin]=ceph-common [ceph-mon]=ceph-mon [monmaptool]=ceph-base [ceph-osd]=ceph-osd)
fi
missing=()
for bin in "${!pkgs[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${pkgs[$bin]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

# npm packages: reinstall only when the lock file changed since the last install.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
