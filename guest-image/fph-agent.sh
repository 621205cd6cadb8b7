#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# fph-agent [TTY]: the fph guest's serial command protocol, defined once.
#
# The busybox test guest's /init (guest-image/init) execs it as PID 1 once
# the modules are loaded; the Debian guest (scripts/build-debian-image.sh)
# runs it as fph-agent.service.  Installed in both as /usr/bin/fph-agent.
# POSIX sh: busybox sh and dash.  tests/e2e/guestctl.py is the host side.
#
#   guest:  FPH-GUEST-READY                   once, when ready
#   host:   <command line>                    or  @<id> <command line>
#   guest:  FPH-BEGIN id=<id>
#           ...output of `sh -c <command line>` (stdin is /dev/null)...
#           FPH-DONE rc=<rc> id=<id>
#
# Without an @<id> prefix the id is a per-run sequence number.  Empty
# lines are ignored.  TTY (e.g. /dev/ttyS0): the protocol runs there
# (stdin, stdout and stderr); without it, on the inherited stdin/stdout.
# Never exits.

export PATH="${PATH:-/usr/sbin:/usr/bin:/sbin:/bin}"
export HOME="${HOME:-/root}"

tty=${1:-}
if [ -n "$tty" ]; then
    exec <"$tty" >"$tty" 2>&1
fi
# The host must not get its own commands back.
stty -echo -echonl 2>/dev/null || stty -echo 2>/dev/null

echo "fph-agent: kernel $(uname -r) memtotal_kib=$(awk '/^MemTotal:/{print $2}' /proc/meminfo) tty=${tty:-$(tty 2>/dev/null)}"
echo "FPH-GUEST-READY"

seq=0
while true; do
    if ! IFS= read -r line; then
        # EOF/error on the tty (should not happen): don't spin, don't exit.
        sleep 1
        continue
    fi
    line=${line%"$(printf '\r')"}
    [ -n "$line" ] || continue
    seq=$((seq + 1))
    id=$seq
    case $line in
        @*)
            id=${line%% *}
            id=${id#@}
            case $line in
                *" "*) line=${line#* } ;;
                *) line= ;;
            esac
            ;;
    esac
    echo "FPH-BEGIN id=$id"
    sh -c "$line" </dev/null
    rc=$?
    echo "FPH-DONE rc=$rc id=$id"
done
