#!/usr/bin/env bash
# lint.sh BUILDDIR: style checks that upstream reviewers run.
#  - QEMU's scripts/checkpatch.pl on the module's C glue and on the series
#  - the kernel's checkpatch.pl --strict on guest/ (make -C guest checkpatch)
set -euo pipefail
build=$1
# shellcheck source=/dev/null
. "$build/qemu.env"
here=$(cd "$(dirname "$0")/.." && pwd)
cp=$QEMU_SRC/scripts/checkpatch.pl
status=0
for f in "$here"/module/*.c "$here"/module/*.h; do
    perl "$cp" -q --no-tree -f "$f" || status=1
done
for p in "$here"/patches/qemu/000[1-9]-*.patch; do
    perl "$cp" -q "$p" || status=1
done
echo "lint: QEMU checkpatch on module/ and patches/qemu: $([ $status = 0 ] && echo clean || echo ERRORS)"
make -s -C "$here/guest" checkpatch || status=1
exit $status
