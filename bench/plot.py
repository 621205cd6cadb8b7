# SPDX-License-Identifier: GPL-2.0-or-later
"""fph-bench: the results as a gnuplot PNG (Debian's gnuplot-nox): per guest
size and bandwidth, MiB transferred and total time per scenario and
contender, medians with min-max error bars."""

from __future__ import annotations

import os
import subprocess
import tempfile

import results as M
from report import bw_label, mem_label
from results import Key, Results

COLORS = ("#888888", "#e69f00", "#56b4e9", "#009e73", "#cc79a7", "#0072b2", "#d55e00",
          "#f0e442")


class PlotError(Exception):
    pass


def _num(x: float, decimals: int) -> str:
    return "NaN" if x != x else f"{x:.{decimals}f}"


def _data(R: Results, panels: list[tuple[int, int]]) -> str:
    """Block 2p: transferred MiB, block 2p+1: total time s.  Columns:
    scenario, per contender (median, min, max), used MiB, RAM-MemFree MiB."""
    out = []
    for m, bw in panels:
        for metric in (0, 1):
            out.append(f"# {mem_label(m)} {bw_label(bw)} {'time' if metric else 'bytes'}\n")
            for s in R.scenarios:
                line = f'"{s}"'
                for c in R.contenders:
                    x = R.sum(Key(m, bw, s, c), M.time_s if metric else M.transferred_mib)
                    line += f" {_num(x.median, 3)} {_num(x.min, 3)} {_num(x.max, 3)}"
                used = unfree = float("nan")
                for c in R.contenders:
                    u = R.sum(Key(m, bw, s, c), M.used_mib)
                    if u.valid() and used != used:
                        used = u.median
                        unfree = R.sum(Key(m, bw, s, c), M.unfree_mib).median
                out.append(f"{line} {_num(used, 1)} {_num(unfree, 1)}\n")
            out.append("\n\n")
    return "".join(out)


def _script(R: Results, panels: list[tuple[int, int]], dat: str, png: str) -> str:
    """Panels two per row; each row of panels is a row of byte plots above
    a row of time plots."""
    conts = R.contenders
    np_ = len(panels)
    cols = min(np_, 2)
    rows = (np_ + cols - 1) // cols
    ucol = 2 + 3 * len(conts)
    g = [f"set terminal pngcairo size {cols * 720},{rows * 2 * 430 + 40} font 'sans,9'\n",
         f"set output '{png}'\n",
         "set datafile missing 'NaN'\n",
         f"set multiplot layout {2 * rows},{cols} title 'fph-bench: live migration, TCG "
         "guest (median; error bars min–max)'\n",
         "set style data histograms\nset style histogram errorbars gap 1 lw 1\n",
         "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset grid ytics\n",
         "set xtics nomirror\nset yrange [0:*]\nset key below horizontal font ',8'\n"]
    for row in range(rows):
        for metric in (0, 1):
            for col0 in range(cols):
                p = row * cols + col0
                if p >= np_:
                    g.append("set multiplot next\n")
                    continue
                m, bw = panels[p]
                ylabel = "total migration time (s)" if metric else "MiB transferred"
                g.append(f"set title '{mem_label(m)} guest, {bw_label(bw)}'\n"
                         f"set ylabel '{ylabel}'\n")
                plots = []
                for c, name in enumerate(conts):
                    col = 2 + 3 * c
                    plots.append(f"'{dat}' index {2 * p + metric} using {col}:{col + 1}:"
                                 f"{col + 2}{'' if c else ':xtic(1)'} title '{name}' "
                                 f"lc rgb '{COLORS[c % len(COLORS)]}'")
                if not metric:
                    plots.append(f"'' index {2 * p} using ($0):{ucol} with points pt 7 ps 1.2 "
                                 "lc rgb 'black' title 'used (MemTotal-MemFree)'")
                    plots.append(f"'' index {2 * p} using ($0):{ucol + 1} with points pt 6 "
                                 "ps 1.4 lc rgb 'red' title 'RAM-MemFree'")
                g.append("plot " + ", ".join(plots) + "\n")
    g.append("unset multiplot\n")
    return "".join(g)


def plot(R: Results, png: str) -> None:
    """Write @png with gnuplot; raises PlotError."""
    panels = [(m, bw) for m in R.mems for bw in R.bws
              if any(R.n_ok(Key(m, bw, s, c)) for s in R.scenarios for c in R.contenders)]
    if not panels:
        raise PlotError("nothing to plot")
    with tempfile.TemporaryDirectory(prefix="fph-bench-plot-") as tmp:
        dat = os.path.join(tmp, "fph-bench-plot.dat")
        gp = os.path.join(tmp, "fph-bench-plot.gp")
        with open(dat, "w", encoding="utf-8") as f:
            f.write(_data(R, panels))
        with open(gp, "w", encoding="utf-8") as f:
            f.write(_script(R, panels, dat, png))
        try:
            p = subprocess.run(["gnuplot", gp], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except OSError as e:
            raise PlotError(f"gnuplot failed (is gnuplot-nox installed?): {e}") from e
        if p.returncode != 0:
            raise PlotError(f"gnuplot failed (is gnuplot-nox installed?): {p.stdout}")
