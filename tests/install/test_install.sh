#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make install PREFIX=... into a scratch prefix: the installed emulator
# finds the module (no QEMU_MODULE_DIR) and its firmware (no -L), and
# query-fph-stats answers.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
prefix=$(mktemp -d /tmp/fph-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
"$here/scripts/install.sh" "$build" "$prefix"
out=$( (echo '{"execute":"qmp_capabilities"}'
        echo '{"execute":"query-fph-stats"}'
        sleep 0.5
        echo '{"execute":"quit"}') |
      env -u QEMU_MODULE_DIR timeout 30 "$prefix/bin/qemu-system-x86_64" \
          -M q35 -accel tcg -nodefaults -display none \
          -object free-page-hint,id=fph0 -qmp stdio 2>&1)
if grep -q '"enabled": true' <<<"$out" && grep -q '"device-present": true' <<<"$out"; then
    echo "ok 1 installed emulator loads the module and answers query-fph-stats"
    echo "1 passed, 0 failed"
else
    echo "not ok 1 installed emulator: $out"
    echo "0 passed, 1 failed"
    exit 1
fi
