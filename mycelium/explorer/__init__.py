"""The trace explorer: a static HTML site to see every signal, region, label and prediction.

``build_site(out_dir, traces_dir=..., labels_dir=..., predictions_path=...)`` writes it;
``python -m mycelium.explorer --help`` is the command line.
"""

from mycelium.explorer.problem_page import render_problem
from mycelium.explorer.site import build_site, problem_pages, safe_id

__all__ = ["build_site", "problem_pages", "render_problem", "safe_id"]
