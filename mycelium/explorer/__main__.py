"""``python -m mycelium.explorer --traces DIR --labels DIR --predictions FILE --out DIR``.

Builds the static explorer site from whichever artifacts are given and prints the path of
its index.html. The JSD and IAF knobs default to ``JSDConfig``'s and ``IAFConfig``'s; override them here to look at
other thresholds without re-running anything upstream.
"""

from __future__ import annotations

import argparse
import sys

from mycelium.explorer.site import build_site
from mycelium.signals.iaf import IAFConfig
from mycelium.signals.jsd import JSDConfig


def _height(text: str) -> float | str | None:
    """``none`` -> None, ``p90`` stays a percentile string, else a float."""
    if text.lower() == "none":
        return None
    return text if text.startswith("p") else float(text)


def _optional_float(text: str) -> float | None:
    return None if text.lower() == "none" else float(text)


def main(argv: list[str] | None = None) -> int:
    d = JSDConfig()
    p = argparse.ArgumentParser(prog="python -m mycelium.explorer", description=__doc__.split("\n\n")[1])
    p.add_argument("--traces", help="traces dir (TraceStore root)")
    p.add_argument("--labels", help="labels dir holding labels.jsonl (and report.json)")
    p.add_argument("--predictions", help="predictions.jsonl (or the dir holding it)")
    p.add_argument("--out", required=True, help="output dir for index.html and problems/")
    p.add_argument("--limit", type=int, default=None, help="first N problems only")
    p.add_argument("--jsd-layer-group", default=d.layer_group)
    p.add_argument("--jsd-window", type=int, default=d.window)
    p.add_argument("--jsd-polyorder", type=int, default=d.polyorder)
    p.add_argument("--jsd-prominence", type=_optional_float, default=d.prominence, help="a float or 'none'")
    p.add_argument("--jsd-height", type=_height, default=d.height, help="a float, a percentile like p90, or 'none'")
    p.add_argument("--jsd-distance", type=int, default=d.distance)
    p.add_argument("--screenshot", metavar="PNG", help="also screenshot one problem page with headless chromium")
    p.add_argument(
        "--screenshot-id", default=None, help="problem id for --screenshot (default: the first page by file name)"
    )
    i = IAFConfig()
    p.add_argument("--iaf-layer-group", default=i.layer_group, help="attention group of the IAF heat")
    p.add_argument("--iaf-method", default=i.method, choices=["top_k", "threshold", "cumulative"])
    p.add_argument("--iaf-top-k", type=int, default=i.top_k)
    p.add_argument("--iaf-threshold", type=float, default=i.threshold)
    p.add_argument("--iaf-mass", type=float, default=i.mass)
    p.add_argument("--iaf-keep-sinks", action="store_true", help="do not drop whitespace/punctuation tokens")
    args = p.parse_args(argv)
    if not (args.traces or args.labels or args.predictions):
        p.error("give at least one of --traces, --labels, --predictions")
    config = JSDConfig(
        layer_group=args.jsd_layer_group,
        window=args.jsd_window,
        polyorder=args.jsd_polyorder,
        prominence=args.jsd_prominence,
        height=args.jsd_height,
        distance=args.jsd_distance,
    )
    index = build_site(
        args.out,
        traces_dir=args.traces,
        labels_dir=args.labels,
        predictions_path=args.predictions,
        jsd_config=config,
        iaf_config=IAFConfig(
            layer_group=args.iaf_layer_group,
            drop_sinks=not args.iaf_keep_sinks,
            method=args.iaf_method,
            top_k=args.iaf_top_k,
            threshold=args.iaf_threshold,
            mass=args.iaf_mass,
        ),
        limit=args.limit,
    )
    print(index)
    if args.screenshot:
        from mycelium.explorer.browser import screenshot
        from mycelium.explorer.site import problem_pages, safe_id

        pages = problem_pages(args.out)
        page = (
            index.parent / "problems" / f"{safe_id(args.screenshot_id)}.html"
            if args.screenshot_id
            else (pages or [index])[0]
        )
        print(screenshot(page, args.screenshot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
