#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# usage: kernels-regex.sh [--names] [KERNELS_MK]
#
# --names: print the kernels for people instead (6.1.97+ 6.12 7.2 7.3).
#
# Print the extended regular expression that matches the kernel releases
# (uname -r) of the kernels the driver was read against (fph-kernels-read
# in kernels.mk), for dkms.conf's BUILD_EXCLUSIVE_KERNEL and the kernel
# hook: DKMS skips every other kernel instead of failing its build (and the
# apt run that installs the kernel).  A series read from its first
# sublevel on matches any release of it (6.12.5, 6.12.118+deb13-amd64);
# one read from a later sublevel only Debian's releases from the first ABI
# built from it (6.1.0-23-amd64), since Debian's 6.1 names carry the ABI,
# not the sublevel.  No backslashes or '$': dkms sources dkms.conf twice.
set -eu

names=0
[ "${1:-}" != --names ] || { names=1; shift; }
mk=${1:-$(dirname "$0")/kernels.mk}
list=$(sed -n 's/^fph-kernels-read[[:space:]]*:=[[:space:]]*//p' "$mk")
[ -n "$list" ] || { echo "kernels-regex: no fph-kernels-read in $mk" >&2; exit 1; }

# An ERE for a decimal number >= $1 (0 to 99).
at_least() {
	n=$1
	if [ "$n" -eq 0 ]; then
		echo '[0-9]+'
	elif [ "$n" -lt 10 ]; then
		echo "([$n-9]|[1-9][0-9]+)"
	elif [ "$n" -lt 90 ]; then
		t=${n%?} u=${n#?}
		echo "(${t}[${u}-9]|[$((t + 1))-9][0-9]|[1-9][0-9]{2,})"
	elif [ "$n" -lt 100 ]; then
		echo "(9[${n#?}-9]|[1-9][0-9]{2,})"
	else
		echo "kernels-regex: $n: only 0 to 99" >&2
		exit 1
	fi
}

if [ $names = 1 ]; then
	out=
	for entry in $list; do
		series=${entry%%:*} rest=${entry#*:}
		sub=${rest%%:*}
		[ "$sub" = 0 ] || series=$series.$sub+
		out=${out:+$out }$series
	done
	echo "$out"
	exit 0
fi

alts=
for entry in $list; do
	series=${entry%%:*} rest=${entry#*:}
	sub=${rest%%:*} abi=
	[ "$rest" = "$sub" ] || abi=${rest#*:}
	s=$(printf '%s' "$series" | sed 's/\./[.]/g')
	if [ "$sub" = 0 ]; then
		alt="${s}[.]"
	elif [ -n "$abi" ]; then
		alt="${s}[.]0-$(at_least "$abi")-"
	else
		echo "kernels-regex: $entry: a sublevel needs the Debian ABI" >&2
		exit 1
	fi
	alts=${alts:+$alts|}$alt
done
printf '^(%s)\n' "$alts"
