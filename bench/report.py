"""Markdown tables for an engine-benchmark result (the JSON written by bench.engine)."""

from __future__ import annotations

from typing import Any

COLUMNS = [
    ("keeldb", "keeldb"),
    ("keeldb-columnar", "keeldb (columnar insert)"),
    ("faiss", "raw FAISS"),
    ("milvus-lite", "Milvus Lite"),
]
SEARCH_COLUMNS = [c for c in COLUMNS if c[0] != "keeldb-columnar"]


def _f(value: Any, fmt: str = "{:,.0f}") -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return fmt.format(value)


def _mb(value: Any) -> str:
    return "—" if value is None else f"{value / 2**20:,.0f} MB"


def _op(search: dict[str, Any]) -> dict[str, Any] | None:
    ef = search.get("operating_ef")
    return next((p for p in search.get("sweep", []) if p["ef"] == ef), None)


def _filtered_at(search: dict[str, Any], name: str, ef: int | None) -> dict[str, Any] | None:
    points = search.get("filtered", {}).get(name, [])
    return next((p for p in points if p["ef"] == ef), None)


def _row(label: str, cells: list[str]) -> str:
    return "| " + " | ".join([label, *cells]) + " |"


def headline(result: dict[str, Any]) -> list[str]:
    systems = result["systems"]
    cols = [c for c in COLUMNS if c[0] in systems]
    out = [_row("", [name for _, name in cols]), "|" + "---|" * (len(cols) + 1)]

    def cell(key: str, fn: Any) -> str:
        entry = systems.get(key)
        if entry is None:
            return "—"
        try:
            return fn(entry)
        except (KeyError, TypeError, StopIteration):
            return "—"

    def add(label: str, fn: Any) -> None:
        out.append(_row(label, [cell(k, fn) for k, _ in cols]))

    batch = result["params"]["batch_rows"]
    add(
        f"durable ingest, rows/s (batches of {batch})",
        lambda e: (
            _f(e["ingest"].get("rows_per_s"))
            if "rows_per_s" in e["ingest"]
            else "n/a (in-memory add)"
        ),
    )
    add(
        "same, excluding the first insert call (one-time costs)",
        lambda e: _f(e["ingest"]["rows_per_s_after_first"]) if "rows_per_s" in e["ingest"] else "—",
    )
    add(
        "insert call ms: first / p50 / p99 / max",
        lambda e: (
            f"{e['ingest']['first_batch_ms']:.0f} / {e['ingest']['batch_ms_p50']:.1f} / "
            f"{e['ingest']['batch_ms_p99']:.1f} / {e['ingest']['batch_ms_max']:.0f}"
        ),
    )
    add(
        "flush + index build + close, s (FAISS: add + write_index)",
        lambda e: _f(e["ingest"]["flush_and_index_s"], "{:.1f}"),
    )

    def searched(fn: Any) -> Any:
        return lambda e: fn(e["search"]) if "search" in e and "sweep" in e["search"] else "—"

    add(
        "ef reaching recall@10 ≥ 0.95",
        searched(lambda s: _f(s["operating_ef"], "{}") if s["operating_ef"] else "not reached"),
    )
    add("recall@10 at that ef", searched(lambda s: _f(_op(s)["recall"], "{:.3f}")))
    add("batch-1 latency p50, ms", searched(lambda s: _f(_op(s)["p50_ms"], "{:.3f}")))
    add("batch-1 latency p99, ms", searched(lambda s: _f(_op(s)["p99_ms"], "{:.3f}")))
    add("batch-1 QPS (1 thread)", searched(lambda s: _f(_op(s)["qps"])))
    for name, expr in result["params"]["filters"].items():
        sel = result["params"]["filter_selectivity"][name]
        add(
            f"filtered `{expr}` ({sel:.2%}): recall@10",
            searched(
                lambda s, n=name: _f(_filtered_at(s, n, s["operating_ef"])["recall"], "{:.3f}")
            ),
        )
        add(
            f"filtered `{expr}`: QPS",
            searched(lambda s, n=name: _f(_filtered_at(s, n, s["operating_ef"])["qps"])),
        )
    add("reopen + first query, s", searched(lambda s: _f(s["reopen"]["total_s"], "{:.2f}")))
    add("on-disk size", lambda e: _mb(e.get("disk_bytes")))
    add("peak RSS, ingest process", lambda e: _mb(e["ingest"].get("peak_rss_bytes")))
    add("peak RSS, search process", searched(lambda s: _mb(s.get("peak_rss_bytes"))))
    return out


def ratios(result: dict[str, Any]) -> list[str]:
    r = result.get("ratios", {})
    out = ["| ratio (same run) | value | target | met |", "|---|---|---|---|"]

    def line(key: str, label: str, fmt: str) -> None:
        e = r.get(key)
        if e is None:
            out.append(f"| {label} | not measured | | |")
            return
        out.append(
            f"| {label} | {fmt.format(e['value'])} | {e['target']} | "
            f"{'yes' if e['met'] else '**no**'} |"
        )

    line("ingest_vs_milvus_lite", "keeldb ingest rows/s ÷ Milvus Lite ingest rows/s", "{:.2f}×")
    line(
        "latency_vs_faiss",
        "keeldb batch-1 p50 ÷ raw FAISS p50, each at its ef for recall@10 ≥ 0.95",
        "{:.2f}×",
    )
    line("filtered_recall", "keeldb filtered recall@10 at ~1% (`section == 's7'`)", "{:.3f}")
    extra = []
    ing = r.get("ingest_vs_milvus_lite")
    if ing and "keeldb_columnar_ratio" in ing:
        extra.append(
            f"keeldb columnar ingest ÷ Milvus Lite ingest: {ing['keeldb_columnar_ratio']:.2f}×"
        )
    lat = r.get("latency_vs_faiss")
    if lat:
        extra.append(
            f"batch-1 latency: keeldb ef={lat['keeldb']['ef']} "
            f"p50 {lat['keeldb']['p50_ms']:.3f} ms vs "
            f"FAISS ef={lat['faiss']['ef']} p50 {lat['faiss']['p50_ms']:.3f} ms "
            f"(overhead {lat['overhead_ms_p50'] * 1e3:.0f} µs per query; "
            f"p99 ratio {lat['p99_ratio']:.2f}×"
            + (
                f"; same-ef p50 ratio {lat['same_ef_p50_ratio']:.2f}×"
                if "same_ef_p50_ratio" in lat
                else ""
            )
            + ")"
        )
    mil = r.get("milvus_lite_latency_vs_faiss")
    if mil:
        extra.append(f"Milvus Lite batch-1 p50 ÷ raw FAISS p50 at recall 0.95: {mil['value']:.1f}×")
    fil = r.get("filtered_recall")
    if fil:
        extra.append(
            "keeldb filtered recall@10, worst over both filters and all efs: "
            f"{fil['min_over_all_filters_and_efs']:.3f}"
        )
    return out + [""] + [f"- {e}" for e in extra]


def sweep(result: dict[str, Any]) -> list[str]:
    systems = result["systems"]
    cols = [c for c in SEARCH_COLUMNS if "sweep" in systems.get(c[0], {}).get("search", {})]
    if not cols:
        return []
    head = ["ef"] + [f"{name} recall / p50 ms / p99 ms / QPS" for _, name in cols]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ef in result["params"]["efs"]:
        cells = [str(ef)]
        for key, _ in cols:
            p = next((p for p in systems[key]["search"]["sweep"] if p["ef"] == ef), None)
            cells.append(
                "—"
                if p is None
                else f"{p['recall']:.3f} / {p['p50_ms']:.3f} / {p['p99_ms']:.3f} / {p['qps']:,.0f}"
            )
        out.append("| " + " | ".join(cells) + " |")
    return out


def filtered(result: dict[str, Any]) -> list[str]:
    systems = result["systems"]
    cols = [c for c in SEARCH_COLUMNS if "filtered" in systems.get(c[0], {}).get("search", {})]
    if not cols:
        return []
    head = ["filter", "ef"] + [f"{name} recall / p50 ms / QPS" for _, name in cols]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, expr in result["params"]["filters"].items():
        efs = sorted({p["ef"] for k, _ in cols for p in systems[k]["search"]["filtered"][name]})
        for ef in efs:
            cells = [f"`{expr}`", str(ef)]
            for key, _ in cols:
                p = _filtered_at(systems[key]["search"], name, ef)
                cells.append(
                    "—" if p is None else f"{p['recall']:.3f} / {p['p50_ms']:.3f} / {p['qps']:,.0f}"
                )
            out.append("| " + " | ".join(cells) + " |")
    return out


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    p = result["params"]
    v = m["versions"]
    ram = f"{m['ram_bytes'] / 2**30:.0f} GiB" if m.get("ram_bytes") else "?"
    lines = [
        f"# Engine benchmark: {p['rows']:,} × {p['dim']}-d, {p['queries']:,} queries",
        "",
        f"- command: `{result['command']}`",
        f"- date (UTC): {result['date_utc']}, run took {result['duration_s']:.0f} s",
        f"- machine: {m['cpu_model']}, {m['cpu_count']} cores, {ram} RAM, {m['platform']}; "
        f"load average at start {m['loadavg_start'][0]:.2f}, "
        f"at end {m['loadavg_end'][0]:.2f} (shared machine)",
        f"- versions: Python {m['python']}, keeldb {v['keeldb']} (git {str(m['git_commit'])[:10]}"
        f"{', dirty' if m['git_dirty'] else ''}), faiss-cpu {v['faiss-cpu']}, "
        f"pymilvus {v['pymilvus']}, "
        f"milvus-lite {v['milvus-lite']}, numpy {v['numpy']}, pyarrow {v['pyarrow']}",
        f"- HNSW M={p['hnsw']['M']}, efConstruction={p['hnsw']['efConstruction']}, "
        f"metric {p['metric']}, "
        f"top-{p['top_k']}; {p['search_threads']}; ground truth: {p['ground_truth']}",
        f"- keeldb: {p['keeldb_settings']}; Milvus Lite: {p['milvus_lite_settings']}",
        "",
        "## Headline",
        "",
        *headline(result),
        "",
        "## Ratios against the issue's targets",
        "",
        *ratios(result),
        "",
        "## Batch-1 ef sweep (unfiltered)",
        "",
        *sweep(result),
        "",
        "## Filtered search (~1% of rows)",
        "",
        *filtered(result),
        "",
    ]
    errors = [
        f"- {k} {phase}: {e[phase]['error']}"
        for k, e in result["systems"].items()
        for phase in ("ingest", "search")
        if isinstance(e.get(phase), dict) and "error" in e[phase]
    ]
    if errors:
        lines += ["## Failed phases", "", *errors, ""]
    return "\n".join(lines)
