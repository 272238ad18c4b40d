#!/bin/sh
# Captures what the installed ip, tc, dig and nslookup document about themselves (their own help
# output and the option lines of their man pages) as test data for the tool policy's tables:
# lib/test/tool-policy-iproute.test.ts and lib/test/tool-policy-dns.test.ts fail when this data
# names an object, command or option the policy has not classified. Rerun after upgrading the tools.
# The help commands run inside a throwaway network namespace, removed on exit.
set -eu
cd "$(dirname "$0")"
ns="snp-capture-$$"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
inns() { ip netns exec "$ns" "$@" 2>&1 || true; }
# The lines of a man page that introduce an option or command (.TP/.B/.BR heads), as roff source.
manheads() { zcat "$1" | awk '/^\.TP/ { getline; print }'; }

{
  echo "### $(ip -V)"
  echo "### ip help"
  inns ip help
  for obj in address addrlabel amt fou help ila ioam l2tp link macsec maddress monitor mptcp mroute \
    mrule neighbor neighbour netconf netns nexthop ntable ntbl route rule sr stats tap tcpmetrics \
    token tunnel tuntap vrf xfrm; do
    echo "### ip $obj help"
    inns ip "$obj" help
  done
  for sub in state policy monitor; do
    echo "### ip xfrm $sub help"
    inns ip xfrm "$sub" help
  done
} > ip.help.txt
{
  echo "### ip.8 option heads"
  zcat /usr/share/man/man8/ip.8.gz | sed -n '/^\.SH OPTIONS/,/^\.SH IP - COMMAND/p' | awk '/^\.TP/ { getline; print }'
} > ip.man-options.txt

{
  echo "### $(tc -V)"
  echo "### tc help"
  inns tc help
  for obj in qdisc class filter chain actions monitor exec; do
    echo "### tc $obj help"
    inns tc "$obj" help
  done
} > tc.help.txt
{
  echo "### tc.8 command and option heads"
  zcat /usr/share/man/man8/tc.8.gz | sed -n '/^\.SH TC COMMANDS/,/^\.SH "EXAMPLES"/p' | awk '/^\.TP/ { getline; print }'
} > tc.man-options.txt

{
  echo "### $(dig -v 2>&1)"
  echo "### dig -h"
  dig -h 2>&1
} > dig.help.txt
{
  echo "### dig.1 option heads"
  manheads /usr/share/man/man1/dig.1.gz
} > dig.man-options.txt

{
  echo "### $(nslookup -version 2>&1)"
  echo "### nslookup.1 option heads"
  manheads /usr/share/man/man1/nslookup.1.gz
} > nslookup.man-options.txt
