#!/usr/bin/env python3
"""Check a self-contained HTML report in headless Chromium (Playwright).

Usage:
    python check_report.py REPORT.html SCREENSHOT_DIR [--chromium /usr/bin/chromium]

Prints ONE JSON object on stdout (see README / the brief for the keys).

Exit codes:
    0  the script ran; all findings are in the JSON (the caller asserts on it)
    2  usage error (bad arguments, report file missing, screenshot dir unusable)
    3  the browser could not be started (playwright not importable, executable
       missing, launch failed); message on stderr, nothing on stdout
    4  the run was aborted after launch (page failed to load, internal error, or
       the global time limit hit); a JSON object with "fatal_error" set is still
       printed on stdout when possible

HTML contract checked:
    <section class="report-section" id="sec-NAME" data-section="NAME">
      <figure class="chart" data-chart="CHART_ID">
        <svg class="chart-svg">...</svg>
        <details class="chart-data">
          <table data-chart="CHART_ID">
            <thead><tr><th>col</th>...</tr></thead>
            <tbody><tr><td data-value="raw">shown</td>...</tr>...</tbody>
          </table>
          <pre class="chart-sql">SELECT ...</pre>
        </details>
      </figure>
    </section>
"""

import argparse
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

# ---- time limits (milliseconds unless noted) -------------------------------
LAUNCH_TIMEOUT_MS = 30_000
LOAD_TIMEOUT_MS = 60_000
DEFAULT_OP_TIMEOUT_MS = 20_000
SCREENSHOT_TIMEOUT_MS = 30_000
GLOBAL_DEADLINE_S = 110  # whole script, incl. launch; must stay < 120 s

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LOCAL_PREFIXES = ("file://", "data:", "about:", "blob:")
BLOCK_SCHEMES = ("http://", "https://", "ws://", "wss://")

_output_lock = threading.Lock()
_output_done = False


def emit(obj, code):
    """Print the single JSON object once (from main thread or watchdog) and exit."""
    global _output_done
    with _output_lock:
        if _output_done:
            return
        _output_done = True
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=1) + "\n")
        sys.stdout.flush()
    if code != 0 or threading.current_thread() is not threading.main_thread():
        sys.stderr.flush()
        os._exit(code)


def safe_filename(name):
    s = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".")
    return s or "_"


# ---- JavaScript run inside the page ----------------------------------------

JS_COLLECT = r"""
async () => {
  const r2 = (x) => Math.round(x * 100) / 100;
  const nextFrame = () => new Promise((res) => {
    let done = false;
    const fin = () => { if (!done) { done = true; res(); } };
    requestAnimationFrame(() => fin());
    setTimeout(fin, 100);  // rAF may be throttled; never hang
  });
  const problems = [];
  const sections = [];
  const secEls = Array.from(document.querySelectorAll('section.report-section'));
  const seenSec = new Set();
  secEls.forEach((sec, idx) => {
    const name = sec.getAttribute('data-section');
    if (name === null || name === '') {
      problems.push(`section #${idx} has no data-section attribute`);
      return;
    }
    if (seenSec.has(name)) problems.push(`duplicate section name "${name}"`);
    seenSec.add(name);
    if (sec.id !== 'sec-' + name)
      problems.push(`section "${name}" has id "${sec.id}", expected "sec-${name}"`);
    sections.push({ idx, name, el: sec });
  });
  const out = { sections: [], problems, orphan_charts: [] };
  const seenChart = new Set();

  async function chartInfo(fig) {
    const id = fig.getAttribute('data-chart');
    const info = { id, svg_width: 0, svg_height: 0, table: null, sql: null, problems: [] };
    if (!id) info.problems.push('figure.chart without data-chart');
    if (seenChart.has(id)) info.problems.push(`duplicate chart id "${id}"`);
    seenChart.add(id);
    const svgs = fig.querySelectorAll('svg.chart-svg');
    if (svgs.length !== 1) info.problems.push(`expected 1 svg.chart-svg, found ${svgs.length}`);
    const svg = svgs[0];
    if (svg) {
      svg.scrollIntoView({ block: 'center', inline: 'nearest' });
      await nextFrame();
      const b = svg.getBoundingClientRect();
      info.svg_width = r2(b.width);
      info.svg_height = r2(b.height);
      if (!(b.width > 0 && b.height > 0)) info.problems.push(`svg has zero size (${r2(b.width)}x${r2(b.height)})`);
    }
    const details = fig.querySelector('details.chart-data');
    info.details_present = !!details;
    if (!details) { info.problems.push('missing details.chart-data'); return info; }
    const table = details.querySelector('table');
    if (!table) {
      info.problems.push('missing table in details.chart-data');
    } else {
      if (table.getAttribute('data-chart') !== id)
        info.problems.push(`table data-chart="${table.getAttribute('data-chart')}" does not match figure "${id}"`);
      const headRow = table.tHead ? table.tHead.rows[0] : null;
      if (!headRow) info.problems.push('table has no thead row');
      const columns = headRow ? Array.from(headRow.cells).map((c) => c.textContent.trim()) : [];
      const rows = [];
      Array.from(table.tBodies).forEach((tb) => Array.from(tb.rows).forEach((tr) => {
        rows.push(Array.from(tr.cells).map((td) =>
          td.hasAttribute('data-value') ? td.getAttribute('data-value') : td.textContent.trim()));
      }));
      rows.forEach((row, i) => {
        if (columns.length && row.length !== columns.length)
          info.problems.push(`row ${i} has ${row.length} cells, expected ${columns.length}`);
      });
      info.table = { columns, rows };
    }
    const pre = details.querySelector('pre.chart-sql');
    if (!pre) info.problems.push('missing pre.chart-sql');
    else info.sql = pre.textContent.trim();
    return info;
  }

  for (const s of sections) {
    s.el.scrollIntoView({ block: 'start' });
    const b = s.el.getBoundingClientRect();
    const sec = { idx: s.idx, name: s.name, width: r2(b.width), height: r2(b.height), charts: [] };
    if (!(b.width > 0 && b.height > 0)) problems.push(`section "${s.name}" has zero size`);
    for (const fig of s.el.querySelectorAll('figure.chart')) sec.charts.push(await chartInfo(fig));
    out.sections.push(sec);
  }
  for (const fig of document.querySelectorAll('figure.chart')) {
    if (!fig.closest('section.report-section[data-section]')) {
      const c = await chartInfo(fig);
      c.problems.push('figure is not inside a report-section');
      out.orphan_charts.push(c);
    }
  }
  window.scrollTo(0, 0);
  return out;
}
"""

JS_CJK = r"""
() => {
  const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
  let checked = 0;
  const failures = [];
  const chars = new Set();
  for (const t of document.querySelectorAll('svg text')) {
    const s = t.textContent;
    if (!cjk.test(s)) continue;
    checked++;
    for (const ch of s) if (cjk.test(ch)) chars.add(ch);
    let w = 0, h = 0, err = null;
    try { const b = t.getBBox(); w = b.width; h = b.height; } catch (e) { err = String(e); }
    if (!(w > 0)) {
      const fig = t.closest('figure.chart');
      failures.push({ text: s.trim().slice(0, 80), chart: fig ? fig.getAttribute('data-chart') : null,
                      bbox_width: w, bbox_height: h, error: err });
    }
  }
  // Tofu heuristic: draw up to 6 distinct CJK chars on a canvas using the font of
  // the first CJK text; if every bitmap is identical they are all the same
  // .notdef box, i.e. no font with CJK glyphs was found.
  let tofu = null;
  const sample = Array.from(chars).slice(0, 6);
  if (sample.length >= 2) {
    const first = Array.from(document.querySelectorAll('svg text')).find((t) => cjk.test(t.textContent));
    const cs = getComputedStyle(first);
    const c = document.createElement('canvas');
    c.width = 40; c.height = 40;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    const shots = sample.map((ch) => {
      ctx.clearRect(0, 0, 40, 40);
      ctx.fillStyle = '#000';
      ctx.font = `32px ${cs.fontFamily || 'sans-serif'}`;
      ctx.textBaseline = 'top';
      ctx.fillText(ch, 2, 2);
      return Array.from(ctx.getImageData(0, 0, 40, 40).data).join(',');
    });
    tofu = shots.every((s) => s === shots[0]);
  }
  return { checked, failures, tofu_suspected: tofu, distinct_chars_sampled: sample.join('') };
}
"""


def main():
    t0 = time.monotonic()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", help="path to the HTML report")
    ap.add_argument("screenshot_dir", help="directory for NAME.png and full.png")
    ap.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    ap.add_argument("--deadline", type=float, default=GLOBAL_DEADLINE_S,
                    help="abort the whole run after this many seconds (default %(default)s)")
    ap.add_argument("--load-timeout", type=float, default=LOAD_TIMEOUT_MS / 1000,
                    help="page load timeout in seconds (default %(default)s)")
    args = ap.parse_args()  # exits 2 on usage errors
    if args.deadline <= 0 or args.load_timeout <= 0:
        ap.error("--deadline and --load-timeout must be positive")
    load_timeout_ms = int(args.load_timeout * 1000)

    report = Path(args.report)
    if not report.is_file():
        print(f"error: report not found: {report}", file=sys.stderr)
        sys.exit(2)
    shot_dir = Path(args.screenshot_dir)
    try:
        shot_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"error: cannot create screenshot dir {shot_dir}: {e}", file=sys.stderr)
        sys.exit(2)
    chromium = args.chromium
    if not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        print(f"error: chromium executable not found or not executable: {chromium}", file=sys.stderr)
        sys.exit(3)

    try:
        from playwright.sync_api import sync_playwright, Error as PWError
    except Exception as e:  # noqa: BLE001
        print(f"error: cannot import playwright: {e}", file=sys.stderr)
        sys.exit(3)

    result = {
        "chromium_version": None,
        "playwright_version": None,
        "report_url": report.resolve().as_uri(),
        "console_errors": [],
        "page_errors": [],
        "external_requests": [],
        "blocked_requests": [],
        "local_file_requests": [],
        "sections": {},
        "orphan_charts": {},
        "problems": [],
        "screenshots": [],
        "cjk_text_checked": 0,
        "cjk_text_failures": [],
        "cjk_tofu_suspected": None,
        "timing_ms": {},
        "fatal_error": None,
    }

    def watchdog():
        result["fatal_error"] = f"global time limit of {args.deadline}s exceeded"
        result["timing_ms"]["total"] = round((time.monotonic() - t0) * 1000)
        print(f"error: {result['fatal_error']}", file=sys.stderr)
        emit(result, 4)

    timer = threading.Timer(args.deadline, watchdog)
    timer.daemon = True
    timer.start()

    try:
        import importlib.metadata as md
        result["playwright_version"] = md.version("playwright")
    except Exception:  # noqa: BLE001
        pass

    report_url = result["report_url"]
    ext_seen = set()

    def note_external(url, how):
        if url not in ext_seen:
            ext_seen.add(url)
            result["external_requests"].append(url)
        if how == "blocked":
            result["blocked_requests"].append(url)

    with sync_playwright() as pw:
        # ---- launch -------------------------------------------------------
        t_launch = time.monotonic()
        try:
            # launch() (not launch_persistent_context): Playwright itself creates a
            # fresh temporary --user-data-dir and deletes it on close.
            browser = pw.chromium.launch(
                executable_path=chromium,
                headless=True,
                args=CHROMIUM_ARGS,
                timeout=LAUNCH_TIMEOUT_MS,
            )
        except Exception as e:  # noqa: BLE001
            timer.cancel()
            print(f"error: browser failed to launch ({chromium}): {e}", file=sys.stderr)
            sys.stdout.flush()
            os._exit(3)
        result["timing_ms"]["launch"] = round((time.monotonic() - t_launch) * 1000)
        result["chromium_version"] = browser.version

        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900},
                device_scale_factor=1,
                service_workers="block",
            )
            context.set_default_timeout(DEFAULT_OP_TIMEOUT_MS)
            context.set_default_navigation_timeout(load_timeout_ms)

            # Network guard: abort everything that would leave the machine.
            def route_handler(route):
                url = route.request.url
                if url.lower().startswith(BLOCK_SCHEMES):
                    note_external(url, "blocked")
                    route.abort("blockedbyclient")
                else:
                    route.continue_()

            context.route("**/*", route_handler)
            if hasattr(context, "route_web_socket"):
                def ws_handler(ws):
                    note_external(ws.url, "blocked")
                    ws.close()
                context.route_web_socket(re.compile(".*"), ws_handler)

            page = context.new_page()

            def on_request(req):
                url = req.url
                if not url.startswith(LOCAL_PREFIXES):
                    note_external(url, "seen")
                elif url.startswith("file://") and url.split("#")[0] != report_url:
                    result["local_file_requests"].append(url)

            def on_console(msg):
                if msg.type == "error":
                    loc = msg.location or {}
                    result["console_errors"].append({
                        "text": msg.text,
                        "location": f"{loc.get('url', '')}:{loc.get('lineNumber', '')}",
                    })

            def on_pageerror(err):
                result["page_errors"].append({
                    "name": getattr(err, "name", None),
                    "message": getattr(err, "message", str(err)),
                    "stack": (getattr(err, "stack", None) or "")[:2000],
                })

            page.on("request", on_request)
            page.on("websocket", lambda ws: note_external(ws.url, "seen"))
            page.on("console", on_console)
            page.on("pageerror", on_pageerror)

            # ---- load -----------------------------------------------------
            t_load = time.monotonic()
            try:
                page.goto(report_url, wait_until="load", timeout=load_timeout_ms)
            except PWError as e:
                raise RuntimeError(f"page failed to load: {e}") from e
            page.evaluate(
                "() => Promise.race([document.fonts.ready.then(() => true),"
                " new Promise(r => setTimeout(() => r(false), 5000))])"
            )
            result["timing_ms"]["load"] = round((time.monotonic() - t_load) * 1000)

            # ---- DOM checks -------------------------------------------------
            t_dom = time.monotonic()
            data = page.evaluate(JS_COLLECT)
            result["problems"].extend(data["problems"])
            for sec in data["sections"]:
                charts = {}
                for c in sec["charts"]:
                    key = c["id"] if c["id"] is not None else f"<figure {len(charts)}>"
                    charts[key] = {
                        "svg_width": c["svg_width"],
                        "svg_height": c["svg_height"],
                        "details_present": c["details_present"],
                        "table": c["table"],
                        "sql": c["sql"],
                        "problems": c["problems"],
                    }
                    for p in c["problems"]:
                        result["problems"].append(f"chart {key!r} in section {sec['name']!r}: {p}")
                result["sections"][sec["name"]] = {
                    "width": sec["width"],
                    "height": sec["height"],
                    "charts": charts,
                }
            for c in data["orphan_charts"]:
                result["orphan_charts"][c["id"]] = c
                for p in c["problems"]:
                    result["problems"].append(f"chart {c['id']!r}: {p}")
            if not data["sections"]:
                result["problems"].append("no section.report-section found")

            cjk = page.evaluate(JS_CJK)
            result["cjk_text_checked"] = cjk["checked"]
            result["cjk_text_failures"] = cjk["failures"]
            result["cjk_tofu_suspected"] = cjk["tofu_suspected"]
            result["timing_ms"]["dom_checks"] = round((time.monotonic() - t_dom) * 1000)

            # ---- screenshots ------------------------------------------------
            t_shot = time.monotonic()
            handles = page.query_selector_all("section.report-section[data-section]")
            used = set()
            for h in handles:
                name = h.get_attribute("data-section") or ""
                if not name:
                    continue
                fname = safe_filename(name)
                if fname in used or fname == "full":
                    fname = f"{fname}_{len(used)}"
                used.add(fname)
                path = shot_dir / f"{fname}.png"
                sec_info = result["sections"].get(name, {})
                if not (sec_info.get("width", 0) > 0 and sec_info.get("height", 0) > 0):
                    result["problems"].append(f"section {name!r}: no screenshot (zero size)")
                    continue
                try:
                    h.screenshot(path=str(path), timeout=SCREENSHOT_TIMEOUT_MS, animations="disabled")
                    result["screenshots"].append(str(path))
                except PWError as e:
                    result["problems"].append(f"section {name!r}: screenshot failed: {e.message.splitlines()[0]}")
            full = shot_dir / "full.png"
            try:
                page.screenshot(path=str(full), full_page=True, timeout=SCREENSHOT_TIMEOUT_MS,
                                animations="disabled")
                result["screenshots"].append(str(full))
            except PWError as e:
                result["problems"].append(f"full-page screenshot failed: {e.message.splitlines()[0]}")
            result["timing_ms"]["screenshots"] = round((time.monotonic() - t_shot) * 1000)
        except Exception as e:  # noqa: BLE001
            result["fatal_error"] = f"{type(e).__name__}: {e}"
        finally:
            try:
                browser.close()
            except Exception:  # noqa: BLE001
                pass

    timer.cancel()
    # Request order is not deterministic (parser vs. scripts): sort for stable output.
    result["external_requests"] = sorted(set(result["external_requests"]))
    result["blocked_requests"] = sorted(set(result["blocked_requests"]))
    result["local_file_requests"] = sorted(set(result["local_file_requests"]))
    result["timing_ms"]["total"] = round((time.monotonic() - t0) * 1000)
    if result["fatal_error"]:
        print(f"error: {result['fatal_error']}", file=sys.stderr)
        emit(result, 4)
    emit(result, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
