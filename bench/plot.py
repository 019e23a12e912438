#!/usr/bin/env python3
"""Draws bench/throughput.svg and bench/latency.svg from the load tool's JSON results in
bench/results/ (no plotting library needed: plain SVG)."""
import json, math, os

HERE = os.path.dirname(os.path.abspath(__file__))
R = os.path.join(HERE, "results")

def load(name):
    with open(os.path.join(R, name)) as f:
        return json.load(f)

def refresh_of(result):
    return next(o for o in result["by_operation"] if o["operation"] == "refresh")

configs = [("in-memory", "load-memory-refresh-t{}.json"), ("SQLite FULL", "load-sqlite-full-refresh-t{}.json"), ("SQLite NORMAL", "load-sqlite-normal-refresh-t{}.json")]
colors = ["#3b6ea8", "#c0504d", "#9bbb59"]

def bars(path, title, groups, series, values, unit, log=False):
    w, h, left, bottom, top = 720, 360, 80, 60, 40
    plot_w, plot_h = w - left - 20, h - top - bottom
    vmax = max(v for row in values for v in row)
    scale = (lambda v: math.log10(max(v, 1)) / math.log10(vmax * 1.2)) if log else (lambda v: v / (vmax * 1.1))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<text x="{w/2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
           f'<line x1="{left}" y1="{top+plot_h}" x2="{left+plot_w}" y2="{top+plot_h}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top+plot_h}" stroke="black"/>',
           f'<text x="16" y="{top+plot_h/2}" transform="rotate(-90 16 {top+plot_h/2})" text-anchor="middle">{unit}</text>']
    gw = plot_w / len(groups)
    bw = gw * 0.8 / len(series)
    for gi, g in enumerate(groups):
        out.append(f'<text x="{left+gi*gw+gw/2}" y="{top+plot_h+18}" text-anchor="middle">{g}</text>')
        for si, s in enumerate(series):
            v = values[gi][si]
            bh = plot_h * scale(v)
            x = left + gi * gw + gw * 0.1 + si * bw
            out.append(f'<rect x="{x:.1f}" y="{top+plot_h-bh:.1f}" width="{bw-2:.1f}" height="{bh:.1f}" fill="{colors[si % 3]}"/>')
            out.append(f'<text x="{x+bw/2:.1f}" y="{top+plot_h-bh-4:.1f}" text-anchor="middle" font-size="10">{v:,.0f}</text>')
    for si, s in enumerate(series):
        out.append(f'<rect x="{left+10+si*150}" y="{h-22}" width="12" height="12" fill="{colors[si % 3]}"/><text x="{left+28+si*150}" y="{h-12}">{s}</text>')
    out.append("</svg>")
    with open(os.path.join(HERE, path), "w") as f:
        f.write("\n".join(out))

threads = [1, 2]
tp = [[refresh_of(load(f.format(t)))["per_second"] for _, f in configs] for t in threads]
bars("throughput.svg", "OneTimeOnly refreshes per second against threads (2-core machine)", [f"{t} thread{'s' if t > 1 else ''}" for t in threads], [c for c, _ in configs], tp, "refreshes / s (log scale)", log=True)
lat = [[refresh_of(load(f.format(2)))[q] for _, f in configs] for q in ("p50_us", "p99_us", "p999_us")]
bars("latency.svg", "Refresh latency percentiles, 2 threads", ["p50", "p99", "p99.9"], [c for c, _ in configs], lat, "microseconds (log scale)", log=True)
print("wrote bench/throughput.svg and bench/latency.svg")
