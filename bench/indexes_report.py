"""Markdown tables and the recall-vs-QPS plot of ``bench.indexes`` results."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
        f"{m['cpu_count']} cores (load average at start {m['loadavg_start'][0]:.2f}), "
        f"Python {m['python']}, {', '.join(f'{k} {v}' for k, v in m['versions'].items() if v)}.",
        "",
        f"Corpus: {c['rows']:,} × {c['dim']} ({c['path']}), {c['metric']}. Queries: "
        f"{q['count']:,} ({_query_words(q['source'])}); recall@{q['k']} against exact "
        f"search; batch 1 over the first {q['batch1_count']} queries (FAISS single-thread, "
        "keeldb and the raw library interleaved query by query, in alternating order), "
        "batch 100 over all queries on all cores. *raw* = the library called directly "
        "on the same built structure; overhead = (keeldb − raw) / raw median latency at batch 1.",
        "",
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
            lines.append(
                f"| {s['name']} | {param} | {p['recall']:.3f} | {_opt(p['recall_raw'], '.3f')} "
                f"| {p['latency_ms']:.3f} | {_opt(p['latency_raw_ms'], '.3f')} "
                f"| {_opt(p['overhead_pct'], '+.0f')} | {1000 / p['latency_ms']:.0f} "
                f"| {p['qps_b100']:.0f} | {_opt(p['qps_b100_raw'], '.0f')} |"
            )
    lines += ["", "## AUTOINDEX tuned to a recall target", "",
              "Tuned on held-in queries (200 corpus rows + noise); *held-out* = the "
              "benchmark's queries. *best hand-picked* = the sweep point with the highest "
              "batch-1 QPS among those reaching at least the same held-out recall, measured "
              "again right after the chosen configuration (same conditions).", "",
              "| target | chosen | measured (95% CI) | held-out | b1 QPS | b100 QPS "
              "| best hand-picked | its recall | its b1 QPS | its b100 QPS | tune s |",
              "|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|"]  # fmt: skip
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
            f"| {a['target']:.2f} | {chosen} | {ci} | {held['recall']:.3f} "
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
        lines.append(f"- {a['target']:.2f}: {tried}")
    lines.append("")
    path.write_text("\n".join(lines))


def _query_words(source: str) -> str:
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
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
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
        for a in result["autoindex"]:
            held = a["held_out"]
            qps = 1000 / held["latency_ms"] if batch == "b1" else held["qps_b100"]
            ax.plot([held["recall"]], [qps], "*", color="black", markersize=14)
            ax.annotate(f"AUTO {a['target']:.2f}", (held["recall"], qps), fontsize=8,
                        xytext=(4, 4), textcoords="offset points")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries per second")
        title = "batch 1 (one thread)" if batch == "b1" else "batch 100 (all cores)"
        ax.set_title(f"{title}; solid: keeldb, dashed: raw library")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    c = result["corpus"]
    fig.suptitle(f"{c['rows']:,} × {c['dim']} MiniLM ({c['metric']}), "
                 f"{result['queries']['source']} queries")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _qps(point: dict[str, Any], batch: str, *, raw: bool) -> float | None:
    if batch == "b1":
        latency = point["latency_raw_ms"] if raw else point["latency_ms"]
        return None if not latency else 1000 / latency
    return point["qps_b100_raw"] if raw else point["qps_b100"]
