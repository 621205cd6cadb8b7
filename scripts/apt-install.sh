#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# apt-install.sh [-a] [-t SUITE] PKG...: install the PKGs that are missing.
#
#   -a        install PKG even if some version is installed (an upgrade,
#             e.g. meson from backports over bookworm's)
#   -t SUITE  apt-get -t SUITE (the target release)
#   PKG       a package name, or NAME/SUITE to take it from that suite
#
# The one place the project installs Debian packages.  The archive moves:
# apt lists that are a day old can name a version the mirror has replaced
# (a security update, a kernel ABI bump), and the download then fails.  On
# any failure this runs `apt-get update` once and tries again.  Needs root
# only when something is missing; the apt-get output goes to a log that is
# printed if the second try fails too.
set -euo pipefail

all=0 target=()
while getopts at: opt; do
    case $opt in
        a) all=1 ;;
        t) target=(-t "$OPTARG") ;;
        *) echo "usage: $0 [-a] [-t SUITE] PKG..." >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
want=()
for p in "$@"; do
    [ $all = 1 ] || ! installed "${p%%/*}" || continue
    want+=("$p")
done
[ ${#want[@]} -gt 0 ] || exit 0
[ "$(id -u)" = 0 ] || { echo "apt-install: ${want[*]} missing; run as root to install" >&2; exit 1; }

log=$(mktemp "${TMPDIR:-/tmp}/fph-apt.XXXXXX")
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
install() {
    apt-get install -y -q --no-install-recommends "${target[@]}" "${want[@]}" >>"$log" 2>&1
}
echo "apt-install: ${want[*]}" >&2
if ! install; then
    echo "apt-install: failed; apt-get update and again" >&2
    apt-get update -q >>"$log" 2>&1 || true
    if ! install; then
        tail -n 25 "$log" >&2
        echo "apt-install: apt-get install ${want[*]} failed (is Debian's archive reachable? scripts/setup-apt.sh sets the lists up)" >&2
        exit 1
    fi
fi
