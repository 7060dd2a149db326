"""Time the dashboard's first render in headless Chromium, against a trivial Voila page.

    .venv/bin/python benchmarks/dashboard.py [--project-dir .] [--runs 3] [--screenshot FILE]

Needs a project the pipeline has run in (``dvc repro``: models, reports). For each run it
starts ``cryoprotect dashboard`` on a free port, opens the page in Debian's Chromium and
times from the request until the overview table is visible (the first render: kernel start,
imports, loading every target's review, widgets drawn), then the opening of each target's tab
(its figures drawn on demand). The baseline is a one-cell notebook served by the same Voila
in the same run, so the ratio is what the dashboard costs beyond Voila itself.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from playwright.sync_api import sync_playwright

from cryoprotect.cli.dashboard import voila_command

CHROMIUM = "/usr/bin/chromium"
TABS = {"Tg": "tg", "IRI": "iri", "Viability": "viability"}
TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(command: list[str], cwd: Path) -> tuple[subprocess.Popen, str]:
    """Start a server command that prints or serves its address; wait until it answers."""
    server = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    port = next(a.split("=")[-1] for a in command if a.startswith("--port"))
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", int(port))) == 0:
                return server, url
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"no server at {url}")


def _trivial_notebook(folder: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [nbformat.v4.new_code_cell("print('ok')")]
    path = folder / "trivial.ipynb"
    nbformat.write(notebook, path)
    return path


def time_page(browser, url: str, ready: str, tabs: dict[str, str] | None) -> dict:
    """Open ``url``; time until ``ready`` is visible, then each tab until its figures are."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    start = time.perf_counter()
    page.goto(url, timeout=TIMEOUT_MS)
    page.wait_for_selector(ready, state="visible", timeout=TIMEOUT_MS)
    timings = {"first_render": time.perf_counter() - start}
    for title, name in (tabs or {}).items():
        start = time.perf_counter()
        page.get_by_role("tab", name=title, exact=True).click()
        page.wait_for_selector(f"img[data-plot='{name}-versions']", state="visible")
        timings[f"tab_{name}"] = time.perf_counter() - start
    page.close()
    return timings


def run_once(browser, project: Path, scratch: Path, screenshot: Path | None) -> dict:
    """Time the trivial page, then the dashboard, each on a fresh server (a cold kernel)."""
    port = _free_port()
    trivial = voila_command(_trivial_notebook(scratch), "127.0.0.1", port)
    server, url = _serve(trivial, scratch)
    try:
        baseline = time_page(browser, url, ".jp-OutputArea-output", None)["first_render"]
    finally:
        server.terminate()
        server.wait()
    port = _free_port()
    command = [str(Path(sys.executable).parent / "cryoprotect"), "dashboard"]
    server, url = _serve(command + ["--project-dir", str(project), f"--port={port}"], project)
    try:
        timings = time_page(browser, url, ".cp-overview table", TABS)
        if screenshot is not None:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, timeout=TIMEOUT_MS)
            page.wait_for_selector(".cp-overview table", timeout=TIMEOUT_MS)
            page.screenshot(path=str(screenshot))
            page.close()
    finally:
        server.terminate()
        server.wait()
    return {"baseline": baseline, **timings}


def main() -> None:
    """Run the benchmark and print the timings, their medians and the ratio to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    project = args.project_dir.resolve()
    runs = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for number in range(args.runs):
            shot = args.screenshot if number == args.runs - 1 else None
            runs.append(run_once(browser, project, Path(scratch), shot))
            print(" ".join(f"{k}={v:.2f}s" for k, v in runs[-1].items()), flush=True)
        browser.close()
    medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print("median: " + " ".join(f"{k}={v:.2f}s" for k, v in medians.items()))
    ratio = medians["first_render"] / medians["baseline"]
    verdict = "meets" if medians["first_render"] <= 10 else "misses"
    print(
        f"first render {medians['first_render']:.2f} s = {ratio:.2f} x a one-cell Voila page "
        f"({medians['baseline']:.2f} s); {verdict} the 10 s target"
    )


if __name__ == "__main__":
    main()
