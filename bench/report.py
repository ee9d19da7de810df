#!/usr/bin/python3
"""Turn bench/results/<ts>/measurements.json (from bench/driver.py) into
report.json, report.md and chart.png in the same directory.

usage: bench/report.py [--wall SECONDS] RESULTS_DIR
"""
import argparse
import json
import os
import subprocess

SYSTEMS = ["s3f", "s3f-listing", "s3fs", "rclone-off", "rclone-full", "raw", "tmpfs"]
WORKLOADS = ["seq_read_cold", "seq_read_warm", "rand_read_cold", "rand_read_warm",
             "mmap_rand_warm", "seq_write_commit", "small_creates", "ls_l_10k",
             "find_tree", "pipeline"]
PEERS = ["s3fs", "rclone-off", "rclone-full"]
# The limit each workload is compared with: the raw client for what must
# reach S3, tmpfs (the page cache) for what a cache can serve.
LIMIT = {"seq_read_cold": "raw", "rand_read_cold": "raw", "seq_write_commit": "raw",
         "small_creates": "raw", "ls_l_10k": "raw", "find_tree": "raw",
         "seq_read_warm": "tmpfs", "rand_read_warm": "tmpfs", "mmap_rand_warm": "tmpfs",
         "pipeline": "tmpfs"}
# report.json speaks MiB/s or ops/s
UNITS = {"MiB/s": "MiB/s", "ops/s": "ops/s", "files/s": "ops/s", "entries/s": "ops/s",
         "runs/min": "ops/s"}


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if v >= 0.1 else f"{v:.3g}"


def ratio(a, b):
    if a is None or not b:
        return "-"
    return f"{a / b:.2f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--wall", type=int)
    p.add_argument("dir")
    a = p.parse_args()
    m = json.load(open(os.path.join(a.dir, "measurements.json")))
    res = m["results"]
    report = {}
    variants = {}      # workload -> raw variant chosen
    for wl in WORKLOADS:
        if wl not in res:
            continue
        row = {}
        for s, e in res[wl].items():
            name = "raw" if s.startswith("raw-") else s
            value, unit = e["median"], e["unit"]
            if unit == "runs/min":
                value, unit = value / 60.0, "ops/s"
            unit = UNITS.get(unit, unit)
            if name == "raw":
                # the raw limit is the best raw client
                if "raw" in row and row["raw"]["value"] >= value:
                    continue
                variants[wl] = s
            row[name] = {"value": round(value, 3), "unit": unit}
        report[wl] = {s: row[s] for s in SYSTEMS if s in row}
    with open(os.path.join(a.dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)

    P = m["params"]
    L = []
    L.append(f"# s3f benchmark, {os.path.basename(os.path.abspath(a.dir))}\n")
    L.append(f"Guest: kernel {m.get('kernel')}, {m.get('ncpu')} vCPUs under QEMU TCG; "
             f"S3 server: s3rver on the guest's loopback (objects on tmpfs). "
             f"Medians of {P['reps']} repetition(s). Higher is better everywhere.\n")
    L.append(f"Sizes: large object {P['size_mib']} MiB, write {P['write_mib']} MiB, "
             f"{P['rand_ops']} cold / {P['warm_ops']} warm random 4 KiB reads "
             f"(each loop stops after {P['cap_s']} s), {P['small_files']} small files, "
             f"directory of {P['dir_entries']}, tree of {P['tree_entries']}, "
             f"pipeline {P['reads']} reads x 100 bp against {P['ref_bp']} bp.\n")
    if a.wall:
        L.append(f"Wall time of the whole run (boot included): {a.wall} s; "
                 f"inside the guest: {m.get('guest_seconds')} s.\n")
    L.append("## Figures\n")
    L.append("| workload | unit | " + " | ".join(SYSTEMS) + " |")
    L.append("|---|---|" + "---|" * len(SYSTEMS))
    for wl in WORKLOADS:
        if wl not in res:
            continue
        units = {e["unit"] for e in res[wl].values()}
        cells = []
        for s in SYSTEMS:
            e = report[wl].get(s)
            v = None
            if e:
                key = variants.get(wl, s) if s == "raw" else s
                v = res[wl][key]["median"]
            cells.append(fmt(v))
        L.append(f"| {wl} | {'/'.join(sorted(units))} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("raw: the better of one stream (curl, `raw-1`) and "
             f"{P['raw_streams']} streams (`raw-{P['raw_streams']}`: parallel ranged GETs "
             "with `curl --parallel`, multipart PUT with `s3fctl s3 put --jobs N`, "
             "parallel PUTs with `curl --parallel`); listings with `s3fctl s3 ls -r`. "
             "Every variant:\n")
    L.append("| workload | variant | median | unit | repetitions |")
    L.append("|---|---|---|---|---|")
    for wl in WORKLOADS:
        for s, e in sorted(res.get(wl, {}).items()):
            if s.startswith("raw-"):
                L.append(f"| {wl} | {s} | {fmt(e['median'])} | {e['unit']} | "
                         + ", ".join(fmt(v) for v in e["values"]) + " |")
    L.append("")
    L.append("## s3f relative to the limit and to each peer\n")
    L.append("Ratio = s3f / other (above 1: s3f is faster). The limit is `raw` for work "
             "that must reach S3 and `tmpfs` for work a cache can serve.\n")
    L.append("| workload | limit | s3f / limit | " + " | ".join(f"s3f / {p}" for p in PEERS)
             + " | s3f / tmpfs |")
    L.append("|---|---|---|" + "---|" * len(PEERS) + "---|")
    for wl in WORKLOADS:
        r = report.get(wl, {})
        s3f = r.get("s3f", {}).get("value")
        lim = LIMIT[wl]
        limv = r.get(lim, {}).get("value")
        if lim == "raw" and limv is None:
            lim, limv = "tmpfs", r.get("tmpfs", {}).get("value")
        cells = [ratio(s3f, r.get(p, {}).get("value")) for p in PEERS]
        L.append(f"| {wl} | {lim} | {ratio(s3f, limv)} | " + " | ".join(cells)
                 + f" | {ratio(s3f, r.get('tmpfs', {}).get('value'))} |")
    L.append("")
    lst = [(wl, report[wl]["s3f-listing"]["value"]) for wl in WORKLOADS
           if "s3f-listing" in report.get(wl, {})]
    if lst:
        L.append("s3f-listing is s3f mounted with `meta=listing` (attributes from the "
                 "listing; s3fs metadata fetched only when a permission decision needs "
                 "it):\n")
        L.append("| workload | s3f-listing / limit | s3f-listing / s3fs | s3f-listing / s3f |")
        L.append("|---|---|---|---|")
        for wl, v in lst:
            r = report[wl]
            L.append(f"| {wl} | {ratio(v, r.get(LIMIT[wl], {}).get('value'))} | "
                     f"{ratio(v, r.get('s3fs', {}).get('value'))} | "
                     f"{ratio(v, r.get('s3f', {}).get('value'))} |")
        L.append("")
    L.append("## Every repetition\n")
    L.append("| workload | system | unit | values |")
    L.append("|---|---|---|---|")
    for wl in WORKLOADS:
        for s, e in res.get(wl, {}).items():
            L.append(f"| {wl} | {s} | {e['unit']} | " + ", ".join(fmt(v) for v in e["values"])
                     + " |")
    L.append("")
    L.append("## Guest CPU time per GiB moved\n")
    L.append("Non-idle CPU time of the whole guest (/proc/stat: the file system, its "
             "daemon, the S3 server, the reading process) during the cold sequential "
             "reads and the sequential writes (incl. commit, up to the point where the "
             "write's clock stops), divided by the bytes moved. Lower is better.\n")
    L.append("| system | read: CPU s/GiB | write: CPU s/GiB |")
    L.append("|---|---|---|")
    for s, kinds in m.get("cpu", {}).items():
        L.append(f"| {s} | {kinds.get('read', {}).get('cpu_s_per_gib', '-')} | "
                 f"{kinds.get('write', {}).get('cpu_s_per_gib', '-')} |")
    L.append("")
    ex = m.get("extra", {})
    L.append("## Memory\n")
    L.append(f"- s3fd peak RSS (VmHWM, over the whole run): "
             f"{ex.get('s3fd_peak_rss_kib', 0) / 1024:.1f} MiB")
    for s, k in ex.get("peak_rss_kib", {}).items():
        L.append(f"- {s}: peak RSS of its daemon: {k / 1024:.1f} MiB")
    sl = ex.get("s3f_slab_after_ls")
    if sl:
        L.append(f"- kernel memory after `ls -l` of {sl['entries']} s3f files "
                 "(/proc/slabinfo, active objects, before -> after):")
        for k, after in sl["after"].items():
            b = sl["before"].get(k, {"active_objs": 0, "kib": 0})
            per = ""
            d_obj = after["active_objs"] - b["active_objs"]
            if sl["entries"]:
                per = f", {sl['delta_kib'][k] * 1024 / sl['entries']:.0f} bytes per file"
            L.append(f"  - {k}: {b['active_objs']} -> {after['active_objs']} objects "
                     f"(+{d_obj}, +{sl['delta_kib'][k]} KiB{per}; object size "
                     f"{after['objsize']} B)")
    L.append("")
    if ex.get("system_seconds"):
        L.append("Time per system (s): " + ", ".join(f"{s} {t}" for s, t in
                                                     ex["system_seconds"].items()) + "\n")
    if m.get("errors"):
        L.append("## Failures\n")
        for s, e in m["errors"].items():
            L.append(f"- {s}: {e}")
        L.append("")
    missing = [(wl, s) for wl in WORKLOADS for s in SYSTEMS
               if wl in report and s not in report[wl] and
               (s != "s3f-listing" or wl in ("ls_l_10k", "find_tree"))]
    if missing:
        L.append("Not run (system cannot run the workload, or failed): " +
                 ", ".join(f"{s}/{wl}" for wl, s in missing) + "\n")
    with open(os.path.join(a.dir, "report.md"), "w") as f:
        f.write("\n".join(L) + "\n")

    # chart: per workload, each system relative to the best system (log scale)
    dat = os.path.join(a.dir, "chart.dat")
    with open(dat, "w") as f:
        f.write("workload " + " ".join(SYSTEMS) + "\n")
        for wl in WORKLOADS:
            if wl not in report:
                continue
            best = max(e["value"] for e in report[wl].values()) or 1
            f.write(wl.replace("_", "-") + " " + " ".join(
                f"{report[wl][s]['value'] / best:.4g}" if s in report[wl] else "?"
                for s in SYSTEMS) + "\n")
    gp = f"""
set terminal pngcairo size 1400,600 font ',10'
set output '{os.path.join(a.dir, 'chart.png')}'
set title 's3f benchmark: each system relative to the best on the workload (higher is better, log scale)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set logscale y
set yrange [*:1.5]
set datafile missing '?'
set key outside right top
set xtics rotate by -30
set grid ytics
plot for [i=2:{len(SYSTEMS) + 1}] '{dat}' using i:xtic(1) title columnheader(i)
"""
    r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
    if r.returncode != 0:
        print("report: gnuplot failed:", r.stderr.strip())
    else:
        os.unlink(dat)
    print(open(os.path.join(a.dir, "report.md")).read())


if __name__ == "__main__":
    main()
