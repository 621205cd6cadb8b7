#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Regenerates the hand-made seed corpus (little-endian virtio_fph_req + ranges).
import os
import struct

CAND, CONF = 1, 2
PAGE = 4096
MiB = 1 << 20


def req(rtype, epoch, ranges, nr=None, reserved=0, reserved2=0):
    nr = len(ranges) if nr is None else nr
    out = struct.pack('<HHIII', rtype, reserved, epoch, nr, reserved2)
    for addr, length in ranges:
        out += struct.pack('<QQ', addr, length)
    return out


SEEDS = {
    'cand_one_page': req(CAND, 1, [(0, PAGE)]),
    'cand_merge_adjacent': req(CAND, 1, [(0, 2 * PAGE), (2 * PAGE, 2 * PAGE),
                                         (3 * PAGE, 4 * PAGE)]),
    'cand_across_adjacent_ram': req(CAND, 1, [(16 * MiB - PAGE, 2 * PAGE)]),
    'cand_mixed_invalid': req(CAND, 1, [(PAGE, PAGE), (0x123, PAGE), (40 * MiB, PAGE), (0, 0)]),
    'cand_high_ram': req(CAND, 1, [(0x100000000, 4 * MiB), (0xffffffffff000000, 0xfff000)]),
    'conf_partial': req(CONF, 1, [(0, 8 * PAGE), (64 * MiB, 16 * PAGE)]),
    'conf_wrap': req(CONF, 1, [(0xfffffffffffff000, 0x2000)]),
    'stale_epoch': req(CAND, 7, [(0, PAGE)]),
    'bad_reserved': req(CAND, 1, [(0, PAGE)], reserved=1),
    'count_overflow': req(CAND, 1, [(0, PAGE)], nr=0x10000001),
    'over_limit': req(CAND, 1, [(i * 2 * PAGE, PAGE) for i in range(65)]),
}

if __name__ == '__main__':
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    os.makedirs(here, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(here, name), 'wb') as f:
            f.write(data)
