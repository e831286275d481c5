"""Markdown tables and recall-QPS plots from one result JSON of ``bench.suite.runner``.

Every figure is the median over the repeats of the invocation, with (min-max)
where the spread matters; ratios divide medians of the same invocation. "QPS
at recall >= r" is the median QPS of the first sweep point (smallest parameter)
whose median recall reaches r ("-" when none does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGETS = (0.95, 0.99)
MODES = ("batch1", "batch100")


def med(x: Any) -> float | None:
    if isinstance(x, dict) and "median" in x:
        return float(x["median"])
    return float(x) if isinstance(x, (int, float)) else None


def spread(x: Any, fmt: str = "{:,.0f}") -> str:
    if not isinstance(x, dict) or "median" not in x:
        return "-"
    m, lo, hi = x["median"], x["min"], x["max"]
    if lo == hi:
        return fmt.format(m)
    return f"{fmt.format(m)} ({fmt.format(lo)}-{fmt.format(hi)})"


def one(x: Any, fmt: str) -> str:
    v = med(x)
    return "-" if v is None else fmt.format(v)


def mb(x: Any) -> str:
    v = med(x)
    return "-" if v is None else f"{v / 1e6:,.0f} MB"


def param_of(point: dict) -> Any:
    p = point.get("param")
    return med(p) if isinstance(p, dict) else p


def qps_at(sweep: list[dict], mode: str, target: float) -> dict | None:
    """The first sweep point (smallest parameter) whose median recall in ``mode`` reaches
    ``target``. Not the fastest of those reaching it: on a loaded machine the QPS of a
    larger parameter can come out higher by chance, while recall is deterministic."""
    for p in sweep:
        if (med(p[mode]["recall"]) or 0) >= target:
            return p
    return None


def _param(system: dict, point: dict | None) -> str:
    if point is None:
        return "-"
    value = param_of(point)
    name = system.get("param_name")
    return "exact" if value is None else f"{name}={value:g}" if name else f"{value}"


# -- tables ------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def on_disk(ingest: dict[str, Any]) -> Any:
    """Allocated bytes (sparse, preallocated files count what they occupy); results
    recorded before that was measured have the apparent size only."""
    return ingest.get("disk_allocated_bytes", ingest["disk_bytes"])


def ingest_table(systems: dict[str, dict]) -> list[str]:
    rows = []
    for name, s in systems.items():
        i, q = s["summary"]["ingest"], s["summary"]["search"]
        rows.append([
            name, spread(i["rows_per_s"]), one(i["build_s"], "{:.1f}"),
            one(i["ingest_total_s"], "{:.1f}"), mb(on_disk(i)), mb(i["peak_rss_bytes"]),
            mb(q["peak_rss_bytes"]), spread(q["reopen"]["total_s"], "{:.2f}"),
        ])  # fmt: skip
    header = ["system", "ingest rows/s", "index build s", "ingest + build s", "on disk",
              "peak RSS ingest", "peak RSS search", "reopen + first query s"]  # fmt: skip
    return table(header, rows)


def search_table(systems: dict[str, dict]) -> list[str]:
    rows = []
    for name, s in systems.items():
        sweep = s["summary"]["search"]["sweep"]
        cells = [name, s["index"]]
        for target in TARGETS:
            for mode in MODES:
                p = qps_at(sweep, mode, target)
                cells.append("-" if p is None else
                             f"{spread(p[mode]['qps'])} @ {_param(s, p)}")  # fmt: skip
        p = qps_at(sweep, "batch1", TARGETS[0])
        latency = "-"
        if p is not None:
            b1 = p["batch1"]
            latency = f"{one(b1['p50_ms'], '{:.2f}')} / {one(b1['p99_ms'], '{:.2f}')}"
        cells.append(latency)
        best = max(med(p["batch100"]["recall"]) or 0 for p in sweep)
        cells.append(f"{best:.3f}")
        rows.append(cells)
    header = ["system", "index", "batch-1 QPS at recall >= 0.95", "batch-100 QPS at >= 0.95",
              "batch-1 QPS at >= 0.99", "batch-100 QPS at >= 0.99",
              "batch-1 p50 / p99 ms at >= 0.95", "best recall@10"]  # fmt: skip
    return table(header, rows)


def filtered_table(systems: dict[str, dict], filters: list[dict], selectivity: dict) -> list[str]:
    rows = []
    for name, s in systems.items():
        filt = s["summary"]["search"]["filtered"]
        for at in ("operating", "max"):
            cells = []
            for f in filters:
                pts = [p for p in filt.get(f["name"], []) if p.get("at") == at]
                if not pts:
                    break
                cells.append(_filtered_cell(pts[0]))
            if cells:
                param = _param(s, pts[0]) if at else "-"
                rows.append([name, f"{at} ({param})", *cells])
    header = ["system", "parameter"] + [
        f"{f['name'].replace('pct', '%')} ({selectivity[f['name']] * 100:.2f}% of rows): "
        "recall / QPS"
        for f in filters
    ]
    return table(header, rows)


def first_query_table(systems: dict[str, dict], filters: list[dict]) -> list[str]:
    """The first query of each filter at the operating parameter: what a filter no
    cache has seen costs (the sweep's queries repeat one filter, as a tenant would)."""
    rows = []
    for name, s in systems.items():
        filt = s["summary"]["search"]["filtered"]
        cells = []
        for f in filters:
            pts = [p for p in filt.get(f["name"], []) if p.get("at") == "operating"]
            cells.append(one(pts[0].get("first_ms"), "{:,.2f}") if pts else "-")
        if any(c != "-" for c in cells):
            rows.append([name, *cells])
    if not rows:
        return []
    header = ["system"] + [f"{f['name'].replace('pct', '%')}: first query ms" for f in filters]
    return table(header, rows)


def _filtered_cell(p: dict) -> str:
    """recall / QPS; below 10 QPS with a decimal, and the query count where the time
    budget cut the point short (``--filter-budget-s``)."""
    fmt = "{:,.1f}" if (med(p["qps"]) or 0) < 10 else "{:,.0f}"
    cell = f"{one(p['recall'], '{:.3f}')} / {one(p['qps'], fmt)}"
    if p.get("budget_stopped"):
        cell += f" ({one(p['queries'], '{:,.0f}')} queries)"
    return cell


def concurrent_table(systems: dict[str, dict]) -> list[str]:
    rows = []
    for name, s in systems.items():
        conc = s["summary"]["search"].get("concurrent") or []
        if conc:
            rows.append([name] + [
                f"{one(c['qps'], '{:,.0f}')} ({one(c['p50_ms'], '{:.1f}')} / "
                f"{one(c['p99_ms'], '{:.1f}')} ms)" for c in conc
            ])  # fmt: skip
    if not rows:
        return []
    header = ["served system"] + [
        f"{n} client{'s' if n > 1 else ''}: QPS (p50 / p99)" for n in (1, 4, 16)
    ]
    return table(header, rows)


def ratio_table(systems: dict[str, dict], filters: list[dict]) -> list[str]:
    """keeldb (embedded) against each peer, medians of this invocation only."""
    if "keeldb" not in systems:
        return []
    k = systems["keeldb"]["summary"]
    rows = []
    for name, s in systems.items():
        if name == "keeldb":
            continue
        p = s["summary"]

        def ratio(a: Any, b: Any) -> str:
            a, b = med(a), med(b)
            return "-" if not a or not b else f"{a / b:.2f}x"

        cells = [name, ratio(k["ingest"]["rows_per_s"], p["ingest"]["rows_per_s"])]
        for mode in MODES:
            kp = qps_at(k["search"]["sweep"], mode, 0.95)
            pp = qps_at(p["search"]["sweep"], mode, 0.95)
            cells.append(ratio(kp[mode]["qps"], pp[mode]["qps"]) if kp and pp else "-")
        kp = qps_at(k["search"]["sweep"], "batch1", 0.95)
        pp = qps_at(p["search"]["sweep"], "batch1", 0.95)
        cells.append(ratio(pp["batch1"]["p50_ms"], kp["batch1"]["p50_ms"]) if kp and pp else "-")
        one_pct = filters[1]["name"]
        kf = [x for x in k["search"]["filtered"][one_pct] if x["at"] == "operating"][0]
        pf = [x for x in p["search"]["filtered"][one_pct] if x["at"] == "operating"][0]
        cells.append(f"{one(kf['recall'], '{:.3f}')} vs {one(pf['recall'], '{:.3f}')}")
        cells.append(ratio(kf["qps"], pf["qps"]))
        cells.append(ratio(on_disk(k["ingest"]), on_disk(p["ingest"])))
        cells.append(ratio(k["search"]["peak_rss_bytes"], p["search"]["peak_rss_bytes"]))
        cells.append(ratio(k["search"]["reopen"]["total_s"], p["search"]["reopen"]["total_s"]))
        rows.append(cells)
    header = ["keeldb vs", "ingest rows/s", "batch-1 QPS at 0.95", "batch-100 QPS at 0.95",
              "batch-1 p50 at 0.95 (theirs / ours)",
              "1% filter recall (operating)", "1% filter QPS", "disk", "search RSS",
              "reopen time"]  # fmt: skip
    return table(header, rows)


def markdown(result: dict, plot_name: str) -> str:
    m, d = result["machine"], result["dataset"]
    systems, opts = result["systems"], result["options"]
    end_load = f"{m['loadavg_end'][0]:.1f}" if m.get("loadavg_end") else "n/a"
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    out = [
        f"# `{d['name']}`: keeldb and the systems users would pick instead",
        "",
        f"`{result['command']}` — {result['started_utc']} to "
        f"{result['finished_utc'] or 'interrupted (the systems listed below finished)'}, "
        f"{result['repeats']} repeats, every phase in a fresh process.",
        "",
        f"Machine: {m['cpu_model']}, {m['cpu_count']} cores, "
        f"{(m['ram_bytes'] or 0) / 2**30:.0f} GiB RAM, {m['platform']}, Python {m['python']}; "
        f"load average {m['loadavg_start'][0]:.1f} at start, {end_load} at end "
        "(a shared machine: compare systems within this file only). "
        f"keeldb: {m.get('keeldb_source')} (repo HEAD {str(m.get('git_commit'))[:12]}). "
        f"Versions: {versions}.",
        "",
        f"Dataset: {d['rows']:,} x {d['dim']}, {d['metric']}, {d['queries']:,} queries "
        f"(batch-1 figures over the first {min(opts['batch1_queries'], d['queries'])}, "
        f"filtered over the first {min(opts['filter_queries'], d['queries'])}"
        + (f", at most {opts['filter_budget_s']:g} s a point" if "filter_budget_s" in opts else "")
        + "); "
        f"ingest in batches of {opts['batch']:,} rows with payload fields `{d['str_field']}`, "
        f"`{d['int_field']}`. Figures are medians over the repeats, (min-max) where shown.",
        "",
        "## Ingest, storage, memory, reopen",
        "",
        *ingest_table(systems),
        "",
        "## Unfiltered search: QPS at a recall@10 target (parameter in use)",
        "",
        f"![recall vs QPS]({plot_name})",
        "",
        *search_table(systems),
        "",
        "## Filtered search (batch 1): recall@10 against exact filtered ground truth / QPS",
        "",
        "At each system's operating parameter (the first reaching recall 0.95 unfiltered) and "
        "at the largest of its sweep.",
        "",
        *filtered_table(systems, d["filters"], d["selectivity"]),
        "",
    ]
    first = first_query_table(systems, d["filters"])
    if first:
        out += ["The first query of each filter (before the warm-up, operating parameter): "
                "what a filter that no cache has seen costs; the figures above repeat one "
                "filter over their queries, as a tenant or category filter repeats.", "",
                *first, ""]  # fmt: skip
    conc = concurrent_table(systems)
    if conc:
        out += ["## Concurrent clients (served systems, batch 1, operating parameter)", "",
                *conc, ""]  # fmt: skip
    ratios = ratio_table(systems, d["filters"])
    if ratios:
        out += ["## keeldb (embedded) vs each peer, this invocation", "",
                "Ratios > 1 favour keeldb for rows/s, QPS and latency (theirs / ours); "
                "< 1 favours keeldb for disk, RSS and reopen time.", "", *ratios, ""]  # fmt: skip
    if result.get("errors"):
        out += (
            ["## Failed", ""]
            + [f"- `{k}`: {v.splitlines()[0]}" for k, v in result["errors"].items()]
            + [""]
        )
    return "\n".join(out)


# -- plots -------------------------------------------------------------------------------


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # the third panel plots 1 / median latency: on a shared machine QPS (queries / wall
    # time) absorbs every preemption, the median far fewer
    panels = (("batch1", "qps", "batch 1, one client thread: QPS"),
              ("batch100", "qps", "batch 100: QPS"),
              ("batch1", "p50_ms", "batch 1: 1 / p50 latency"))  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(19, 5.4))
    for ax, (mode, figure, title) in zip(axes, panels):
        for name, s in result["systems"].items():
            sweep = s["summary"]["search"]["sweep"]
            xs = [med(p[mode]["recall"]) for p in sweep]
            ys = [med(p[mode][figure]) for p in sweep]
            if figure == "p50_ms":
                ys = [1e3 / y for y in ys]
            style = "o" if len(xs) == 1 else ".-"
            ax.plot(xs, ys, style, label=name, linewidth=2.2 if name == "keeldb" else 1.2)
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries per second (log)")
        ax.set_title(f"{result['dataset']['name']}: {title}")
        ax.grid(True, which="both", alpha=0.3)
        for target in TARGETS:
            ax.axvline(target, color="grey", linestyle=":", linewidth=0.8)
    axes[1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(json_path: Path, result: dict) -> None:
    json_path = Path(json_path)
    png = json_path.with_name(json_path.stem + "-recall-qps.png")
    if result["systems"]:
        plot(result, png)
    json_path.with_suffix(".md").write_text(markdown(result, png.name))
