"""Markdown tables and the recall-vs-QPS plot of ``bench.indexes`` results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: how batch-1 latency was timed (results before ``batch1_method`` was recorded interleaved)
BATCH1_METHODS = {
    "interleaved": "keeldb and the raw library interleaved query by query, in alternating order)",
    "passes": "keeldb and the raw library in whole passes over the queries, three each, "
    "alternating; per query the median of its passes, then the median over queries)",
}


def _mb(value: float) -> str:
    return f"{value / 2**20:.1f}"


def _opt(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def write_markdown(result: dict[str, Any], path: Path) -> None:
    m, c, q = result["machine"], result["corpus"], result["queries"]
    lines = [
        "# Index catalogue: recall@10 vs QPS",
        "",
        f"`{result['command']}` — {result['elapsed_s'] / 60:.1f} min on {m['cpu_model']}, "
        f"{m['cpu_count']} cores (load average {m['loadavg_start'][0]:.2f} at start"
        + (f", {m['loadavg_end'][0]:.2f} at the end" if "loadavg_end" in m else "")
        + "), "
        f"Python {m['python']}, {', '.join(f'{k} {v}' for k, v in m['versions'].items() if v)}.",
        "",
        f"Corpus: {c['rows']:,} × {c['dim']} ({c['path']}), {c['metric']}. Queries: "
        f"{q['count']:,} ({_query_words(q['source'])}); recall@{q['k']} against exact "
        f"search; batch 1 over the first {q['batch1_count']} queries (FAISS single-thread, "
        + BATCH1_METHODS[result.get("batch1_method", "interleaved")]
        + ", "
        "batch 100 over all queries on all cores. *raw* = the library called directly "
        "on the same built structure; overhead = (keeldb − raw) / raw median latency at batch 1.",
        "",
        *(f"**Note**: {note}\n" for note in result.get("notes", [])),
        *(
            []
            if result.get("complete", True)
            else [
                "**Partial run**: the sweeps below are all that finished in the time there was; "
                "index types missing from them were not measured.",
                "",
            ]
        ),  # fmt: skip
        "## Builds",
        "",
        "| index | build params | build s | memory MB | disk MB |",
        "|---|---|---:|---:|---:|",
    ]
    for s in result["sweeps"]:
        lines.append(
            f"| {s['name']} | {_params(s['build'])} | {s['build_s']:.1f} | "
            f"{_mb(s['memory_bytes'])} | {_mb(s['disk_bytes'])} |"
        )
    lines += ["", "## Sweeps", "",
              "| index | param | recall | recall raw | b1 ms | b1 ms raw | overhead % "
              "| b1 QPS | b100 QPS | b100 QPS raw |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for s in result["sweeps"]:
        for p in s["points"]:
            param = "–" if s["param"] is None else f"{s['param']}={p['param']}"
            if s.get("fixed"):
                param += ", " + _params(s["fixed"])
            lines.append(
                f"| {s['name']} | {param} | {p['recall']:.3f} | {_opt(p['recall_raw'], '.3f')} "
                f"| {p['latency_ms']:.3f} | {_opt(p['latency_raw_ms'], '.3f')} "
                f"| {_opt(p['overhead_pct'], '+.0f')} | {1000 / p['latency_ms']:.0f} "
                f"| {p['qps_b100']:.0f} | {_opt(p['qps_b100_raw'], '.0f')} |"
            )
    lines += _lite_lines(result.get("milvus_lite") or [])
    if not result["autoindex"]:
        path.write_text("\n".join(lines + [""]))
        return
    lines += ["", "## AUTOINDEX tuned to a recall target", "",
              "*tuned on*: `sampled` = held-in queries (500 corpus rows + noise), what "
              "AUTOINDEX uses before a collection has seen searches; `recorded` = 500 real "
              "queries other than the measured ones, as a collection records its users' "
              "queries. *held-out* = the benchmark's queries. *best hand-picked* = the sweep "
              "point with the highest batch-1 QPS among those reaching at least the same "
              "held-out recall, measured again right after the chosen configuration (same "
              "conditions).", "",
              "| target | tuned on | chosen | measured (95% CI) | held-out | b1 QPS | b100 QPS "
              "| best hand-picked | its recall | its b1 QPS | its b100 QPS | tune s |",
              "|---|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|"]  # fmt: skip
    for a in result["autoindex"]:
        ch, held, best = a["chosen"], a["held_out"], a["best_hand_picked"]
        chosen = f"{ch['index_type']} {_params(ch['build'])} {_params(ch['search'])}".strip()
        ci = f"{a['measured_recall']:.3f} ({a['recall_ci'][0]:.3f}–{a['recall_ci'][1]:.3f})"
        best_cells = (
            f"{best['name']} {best['param']}={best['value']} | {best['recall']:.3f} "
            f"| {1000 / best['latency_ms']:.0f} | {best['qps_b100']:.0f}"
            if best
            else "none reaches it | – | – | –"
        )
        lines.append(
            f"| {a['target']:.2f} | {a.get('tuned_on', 'sampled')} | {chosen} | {ci} "
            f"| {held['recall']:.3f} "
            f"| {1000 / held['latency_ms']:.0f} | {held['qps_b100']:.0f} | {best_cells} "
            f"| {a['tune_s']:.0f} |"
        )
    lines += ["", "Candidates AUTOINDEX tried (held-in recall, batch-1 latency):", ""]
    for a in result["autoindex"]:
        tried = "; ".join(
            f"{t['index_type']} {_params(t['build'])} {_params(t['search'])} → "
            f"{t['recall']:.3f}, {t['latency_ms']:.3f} ms"
            for t in a["tried"]
        )
        lines.append(f"- {a['target']:.2f} ({a.get('tuned_on', 'sampled')}): {tried}")
    lines.append("")
    path.write_text("\n".join(lines))


def _lite_lines(lite: list[dict[str, Any]]) -> list[str]:
    if not lite:
        return []
    exact = all(p["recall"] >= 0.999 for s in lite for p in s["points"])
    note = (
        "Its recall was 1.000 at every index type and setting in this run: whatever "
        "index is asked for, Milvus Lite searched exactly. "
        if exact
        else ""
    )
    lines = ["", "## Milvus Lite, same corpus and queries, this invocation", "",
             f"{note}Build = insert + flush + create_index + close + reopen + load (Lite "
             "builds its index on a worker that close drains); disk = its database "
             "directory.", "",
             "| system / index | build params | param | recall | b1 ms | b1 QPS | b100 QPS "
             "| build s | disk MB |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for s in lite:
        for p in s["points"]:
            param = "–" if s["param"] is None else f"{s['param']}={p['param']}"
            lines.append(
                f"| {s['name']} | {_params(s['build'])} | {param} | {p['recall']:.3f} "
                f"| {p['latency_ms']:.3f} | {_rate(1000 / p['latency_ms'])} "
                f"| {_rate(p['qps_b100'])} | {s['build_s']:.1f} | {_mb(s['disk_bytes'])} |"
            )
    return lines


def _rate(qps: float) -> str:
    return f"{qps:.0f}" if qps >= 10 else f"{qps:.2f}"


def _query_words(source: str) -> str:
    if source == "synthetic":
        return "fresh draws from the corpus distribution (bench/dataset.py, seed 2), never rows"
    if source == "text":
        return "held-out: the dev queries' synopses embedded with the same model"
    return "corpus rows, each query's own row removed from truth and answers"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def write_plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 6))
    colours = plt.get_cmap("tab20").colors  # enough distinct colours for every index
    for ax, batch in zip(axes, ("b1", "b100")):
        for i, s in enumerate(result["sweeps"]):
            colour = colours[i % len(colours)]
            recall = [p["recall"] for p in s["points"]]
            ours = [_qps(p, batch, raw=False) for p in s["points"]]
            theirs = [_qps(p, batch, raw=True) for p in s["points"]]
            ax.plot(recall, ours, "o-", color=colour, label=s["name"])
            if all(t is not None for t in theirs):
                raw_recall = [p["recall_raw"] for p in s["points"]]
                ax.plot(raw_recall, theirs, "x--", color=colour, alpha=0.6)
        for s in result.get("milvus_lite") or []:
            recall = [p["recall"] for p in s["points"]]
            qps = [1000 / p["latency_ms"] if batch == "b1" else p["qps_b100"] for p in s["points"]]
            ax.plot(recall, qps, "s:", color="grey", label=s["name"])
        for a in result["autoindex"]:
            held = a["held_out"]
            qps = 1000 / held["latency_ms"] if batch == "b1" else held["qps_b100"]
            ax.plot([held["recall"]], [qps], "*", color="black", markersize=14)
            label = f"AUTO {a['target']:.2f}" + (" rec" if a.get("tuned_on") == "recorded" else "")
            ax.annotate(label, (held["recall"], qps), fontsize=8,
                        xytext=(4, 4), textcoords="offset points")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries per second")
        title = "batch 1 (one thread)" if batch == "b1" else "batch 100 (all cores)"
        ax.set_title(f"{title}; solid: keeldb, dashed: raw library")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    c = result["corpus"]
    what = "synthetic clustered" if result["queries"]["source"] == "synthetic" else "MiniLM"
    fig.suptitle(f"{c['rows']:,} × {c['dim']} {what} ({c['metric']}), "
                 f"{result['queries']['source']} queries; grey dotted: Milvus Lite")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _qps(point: dict[str, Any], batch: str, *, raw: bool) -> float | None:
    if batch == "b1":
        latency = point["latency_raw_ms"] if raw else point["latency_ms"]
        return None if not latency else 1000 / latency
    return point["qps_b100_raw"] if raw else point["qps_b100"]


def summary_table(result: dict[str, Any], recalls: tuple[float, ...] = (0.9, 0.95)) -> list[str]:
    """One row per index: build, memory, and the best batch-1 QPS reaching each recall
    (keeldb and raw, same point), for bench/README.md."""
    head = " | ".join(f"b1 QPS @ {r:.2f} (raw)" for r in recalls)
    lines = [f"| index | build s | memory MB | {head} | median overhead % |",
             "|---|---:|---:|" + "---:|" * len(recalls) + "---:|"]  # fmt: skip
    for s in result["sweeps"]:
        cells = []
        for r in recalls:
            ok = [p for p in s["points"] if p["recall"] >= r]
            best = min(ok, key=lambda p: p["latency_ms"], default=None)
            if best is None:
                cells.append("–")
                continue
            raw = best["latency_raw_ms"]
            cells.append(f"{1000 / best['latency_ms']:.0f} ({_opt(raw and 1000 / raw, '.0f')})")
        overheads = sorted(p["overhead_pct"] for p in s["points"] if p["overhead_pct"] is not None)
        median = overheads[len(overheads) // 2] if overheads else None
        lines.append(f"| {s['name']} | {s['build_s']:.1f} | {_mb(s['memory_bytes'])} | "
                     f"{' | '.join(cells)} | {_opt(median, '+.0f')} |")  # fmt: skip
    return lines
