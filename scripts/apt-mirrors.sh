#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# apt-mirrors.sh: the Debian mirrors this machine's apt uses, as shell
# assignments for the scripts that build chroots with mmdebstrap:
#   FPH_MIRROR=http://.../debian FPH_SECURITY=http://.../debian-security
# $FPH_DEBIAN_MIRROR / $FPH_DEBIAN_SECURITY override them; without either
# (no such line in the apt sources) deb.debian.org.
set -euo pipefail
apt_uris() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        if [ -f "$f" ]; then
            sed -n 's/^[[:space:]]*deb\(-src\)\?[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\3/p' "$f"
        fi
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        if [ -f "$f" ]; then
            sed -n 's/^URIs:[[:space:]]*//p' "$f" | tr ' ' '\n'
        fi
    done
}
uris=$(apt_uris | sed 's|/*$||' | sort -u)
mirror=${FPH_DEBIAN_MIRROR:-$(echo "$uris" | grep -E '^https?://[^ ]*/debian$' | head -1 || true)}
security=${FPH_DEBIAN_SECURITY:-$(echo "$uris" | grep -E '^https?://[^ ]*/debian-security$' | head -1 || true)}
echo "FPH_MIRROR=${mirror:-http://deb.debian.org/debian}"
echo "FPH_SECURITY=${security:-http://deb.debian.org/debian-security}"
