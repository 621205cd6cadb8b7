#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build and run the libFuzzer target for the fph core (see README.md).
#
#   fuzz.sh build    OUTDIR            build OUTDIR/fuzz_request
#   fuzz.sh smoke    OUTDIR [SECONDS]  fuzz a fresh copy of the seed corpus
#                                      (default 60 s); fails on any crash
#   fuzz.sh campaign OUTDIR SECONDS    long run; its corpus persists in
#                                      OUTDIR/campaign/corpus across runs
#
# The committed seeds (tests/fuzz/corpus) are only read: libFuzzer writes
# new inputs to the first corpus directory it is given, always a copy.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
cmd=${1:-}
out=${2:-}
[ -n "$cmd" ] && [ -n "$out" ] || { sed -n '3,12p' "$0" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=$out/fuzz_request
log() { echo "fuzz: $*" >&2; }

# clang++ with the libFuzzer runtime (Debian: clang and libclang-rt-dev, the
# runtime of the release's clang: 14 on Debian 12, 19 on Debian 13).  Asked
# of clang++ itself, by linking a fuzz target: where the runtime lies differs
# (Debian 13's clang 19 names a -print-runtime-dir that does not exist).
have_fuzzer_rt() {
    local probe rc
    command -v clang++ >/dev/null || return 1
    probe=$(mktemp -d)
    echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char *, unsigned long) { return 0; }' \
        >"$probe/probe.cpp"
    clang++ -fsanitize=fuzzer "$probe/probe.cpp" -o "$probe/probe" 2>/dev/null
    rc=$?
    rm -rf "$probe"
    return $rc
}
ensure_clang() {
    have_fuzzer_rt && return
    "$here/scripts/apt-install.sh" clang libclang-rt-dev || exit 1
    have_fuzzer_rt || { log "clang++ still lacks the libFuzzer runtime"; exit 1; }
}

build() {
    local srcs=("$here"/tests/fuzz/fuzz_request.cpp "$here"/module/core/*.cpp)
    local deps=("${srcs[@]}" "$here"/module/core/*.hpp "$here"/module/core/*.h
                "$here"/include/fph/*.h "$here"/include/fph/names.toml
                "$here"/scripts/gen-names.py "$0")
    local gen=$bin.gen
    if [ -x "$bin" ] && [ -z "$(find "${deps[@]}" -newer "$bin" 2>/dev/null)" ]; then
        return
    fi
    ensure_clang
    log "building $bin"
    # The core's fph_names.h, as meson generates it.
    mkdir -p "$gen"
    python3 "$here/scripts/gen-names.py" header "$gen/fph_names.h"
    clang++ -std=c++20 -g -O1 -Wall -Wextra -Werror \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I"$here"/include -I"$here"/module/core -I"$gen" \
        "${srcs[@]}" -o "$bin.tmp"
    mv "$bin.tmp" "$bin"
}

# run WORKDIR SECONDS: fuzz WORKDIR/corpus; summary on stdout; 1 on a crash.
run() {
    local work=$1 secs=$2 rc=0 execs cov ft corp artifacts start=$SECONDS took
    mkdir -p "$work/corpus" "$work/artifacts"
    # 2 KiB is far above the fuzzer's largest valid request (64 ranges).
    "$bin" "$work/corpus" -max_total_time="$secs" -max_len=2048 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" >"$work/log" 2>&1 || rc=$?
    took=$(( SECONDS - start > 0 ? SECONDS - start : 1 ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    read -r cov ft corp < <(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 \2 \3/p' \
                            "$work/log" | tail -1) || true
    artifacts=$(find "$work/artifacts" -type f | wc -l)
    echo "fuzz: ${execs:-0} executions in ${took} s ($(( ${execs:-0} / took ))/s)," \
         "coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?} inputs," \
         "$artifacts crash/timeout/leak artifacts, exit status $rc (log: $work/log)"
    if [ "$rc" != 0 ] || [ "$artifacts" != 0 ]; then
        grep -E -A30 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error|fph oracle' \
            "$work/log" | head -60 >&2 || tail -40 "$work/log" >&2
        find "$work/artifacts" -type f >&2
        return 1
    fi
}

case $cmd in
build)
    build
    ;;
smoke)
    secs=${3:-60}
    build
    work=$out/smoke
    rm -rf "$work"
    mkdir -p "$work/corpus"
    cp "$here"/tests/fuzz/corpus/* "$work/corpus/"
    run "$work" "$secs"
    ;;
campaign)
    secs=${3:?seconds}
    build
    work=$out/campaign
    if [ ! -d "$work/corpus" ]; then
        mkdir -p "$work/corpus"
        cp "$here"/tests/fuzz/corpus/* "$work/corpus/"
    fi
    run "$work" "$secs"
    ;;
*)
    sed -n '3,12p' "$0" >&2
    exit 2
    ;;
esac
