"""The rendered documents in a real browser: Debian's chromium driven by Playwright.

Each document of ``assess demo`` (rendered once per session by ``demo_outputs``) is opened
from disk (file://) in headless Chromium. Every JavaScript error is collected, in the page
and in its map iframes: ``pageerror`` and console errors from Playwright, a ``window.onerror``
/ ``unhandledrejection`` recorder injected into every frame, and any ``alert`` dialog (which
would mean a ``<script>`` from data ran). Each map iframe must hold a Leaflet container with
drawn vector paths (``.leaflet-interactive``).

Network
    Tests never use the network. For the ordinary (online) rendering, requests for Leaflet's
    script and stylesheet on a CDN are answered from the Leaflet that the package ships for
    offline maps (``js_lib_leaflet``), and every other request that is not ``file:``,
    ``data:``, ``about:`` or ``blob:`` is blocked and reported as a failure (the documents
    must need nothing else). For the OFFLINE strategic assessment all network is blocked,
    Leaflet included, and the maps must still draw.

Skipped with a reason when /usr/bin/chromium is absent (``make browser`` installs it) or
Playwright cannot launch it. Never run ``playwright install``: the system chromium is used.
"""

from __future__ import annotations

import base64
import re
from importlib import resources
from pathlib import Path

import pytest

from assessment.cli import DEMO_DOCUMENTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEMS = [stem for _, _, stem in DEMO_DOCUMENTS]
LOCAL = ("file:", "data:", "about:", "blob:")
_LEAFLET_CDN = re.compile(r"^https?://[^/]+/.*leaflet[^/]*/.*leaflet(\.min)?\.(js|css)(\?.*)?$", re.I)
MAP_TIMEOUT_MS = 15_000
# Maps of an online run draw OpenStreetMap tiles (issue 13); the tests answer them with a blank tile.
_OSM_TILE = re.compile(r"^https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")
_BLANK_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def _tile(route) -> None:
    route.fulfill(status=200, body=_BLANK_PNG, content_type="image/png", headers={"Access-Control-Allow-Origin": "*"})

# Recorded in every frame (main page and map iframes) before any of its scripts run.
ERROR_RECORDER = """
window.__jsErrors = [];
window.addEventListener('error', function (e) {
  window.__jsErrors.push('error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || e));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__jsErrors.push('unhandledrejection: ' + (e.reason && e.reason.message || e.reason));
});
"""

# Records, in every frame, any element that data text could have injected: an element with an
# inline event handler, an <img> not drawn from a data: URI, or a script/iframe/object/embed
# added after the page loaded. Counts the Leaflet tooltips opened (so hovering is seen to work).
INJECTION_RECORDER = """
window.__injected = [];
window.__tooltips = 0;
window.__loaded = false;
window.addEventListener('load', function () { window.__loaded = true; });
new MutationObserver(function (records) {
  records.forEach(function (r) {
    r.addedNodes.forEach(function (n) {
      if (n.nodeType !== 1) { return; }
      [n].concat(Array.prototype.slice.call(n.querySelectorAll('*'))).forEach(function (el) {
        var handler = Array.prototype.some.call(el.attributes, function (a) { return /^on/i.test(a.name); });
        var src = el.getAttribute('src') || '';
        var late = window.__loaded && /^(SCRIPT|IFRAME|OBJECT|EMBED)$/.test(el.tagName);
        if (handler || late || (el.tagName === 'IMG' && src.indexOf('data:') !== 0)) {
          window.__injected.push(el.outerHTML.slice(0, 160));
        }
        if (el.classList && el.classList.contains('leaflet-tooltip')) { window.__tooltips += 1; }
      });
    });
  });
}).observe(document, {childList: true, subtree: true});
"""

# Hover, press, click and leave every drawn feature of a Leaflet map, then let any image error fire.
EXERCISE_FEATURES = """
async () => {
  const paths = Array.from(document.querySelectorAll('.leaflet-interactive'));
  for (const p of paths) {
    const b = p.getBoundingClientRect();
    const at = {bubbles: true, cancelable: true, view: window,
                clientX: b.left + b.width / 2, clientY: b.top + b.height / 2};
    for (const type of ['mouseover', 'mousemove', 'mousedown', 'mouseup', 'click', 'mouseout']) {
      p.dispatchEvent(new MouseEvent(type, at));
    }
  }
  await new Promise(resolve => setTimeout(resolve, 300));
  return paths.length;
}
"""


def _leaflet_asset(name: str) -> str:
    return (resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet" / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: run `make browser` (installs Debian's chromium) to enable browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"python playwright is not installed in this environment: {exc}")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
    except Exception as exc:
        pw.stop()
        pytest.skip(f"Playwright could not launch {CHROMIUM}: {type(exc).__name__}: {str(exc)[:300]}")
    yield b
    b.close()
    pw.stop()


def rendered(outputs, stem: str):
    """The document's run; a document that did not render fails its tests, whatever the error.

    (Render failures used to be skipped when they looked like an unfinished module, e.g. an
    ``AttributeError`` naming ``section_``; a skip hid real breakage, so every failure fails.)
    """
    if stem in outputs.runs:
        return outputs.runs[stem]
    pytest.fail(f"{stem} did not render: {outputs.failures.get(stem, 'not rendered')}")


def open_in_browser(browser, html: Path, *, serve_leaflet: bool, exercise: bool = False) -> dict:
    """Open ``html`` from disk; return errors, blocked requests and per-map drawing counts.

    With ``exercise`` every feature of every map is hovered and clicked; ``injected`` lists any
    element that data text injected into any frame, ``features`` and ``tooltips`` count the
    features exercised and the tooltips they opened.
    """
    context = browser.new_context()
    blocked: list[str] = []
    served: list[str] = []
    js, css = (_leaflet_asset("leaflet.js"), _leaflet_asset("leaflet.css")) if serve_leaflet else ("", "")

    def route(r):
        url = r.request.url
        if url.startswith(LOCAL):
            return r.continue_()
        if serve_leaflet and _OSM_TILE.match(url):
            served.append(url)
            return _tile(r)
        if serve_leaflet and _LEAFLET_CDN.match(url):
            served.append(url)
            is_js = url.split("?")[0].lower().endswith(".js")
            return r.fulfill(status=200, body=js if is_js else css,
                             content_type="application/javascript" if is_js else "text/css",
                             headers={"Access-Control-Allow-Origin": "*"})
        blocked.append(url)
        return r.abort()

    context.route("**/*", route)
    context.add_init_script(ERROR_RECORDER)
    context.add_init_script(INJECTION_RECORDER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text} ({m.location.get('url', '')[:80]})")
            if m.type == "error" else None)

    def on_dialog(d):
        errors.append(f"dialog ({d.type}): {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    try:
        page.goto(html.as_uri(), wait_until="load", timeout=60_000)
        n_iframes = page.locator("iframe.map-frame").count()
        maps = []
        frames = [f for f in page.frames if f is not page.main_frame]
        for frame in frames:
            try:
                frame.wait_for_function("document.querySelectorAll('.leaflet-interactive').length > 0",
                                        timeout=MAP_TIMEOUT_MS)
            except Exception:  # reported below as a map without paths
                pass
            maps.append({
                "containers": frame.locator(".leaflet-container").count(),
                "paths": frame.locator(".leaflet-interactive").count(),
            })
        features, tooltips, injected = 0, 0, []
        if exercise:
            for frame in frames:
                features += frame.evaluate(EXERCISE_FEATURES)
            page.wait_for_timeout(300)
            for frame in page.frames:
                try:
                    injected += frame.evaluate("window.__injected || []")
                    tooltips += frame.evaluate("window.__tooltips || 0")
                except Exception as exc:
                    injected.append(f"could not read frame {frame.url[:60]}: {exc}")
        for frame in page.frames:
            try:
                errors += [f"[{'page' if frame is page.main_frame else 'map frame'}] {e}"
                           for e in frame.evaluate("window.__jsErrors || []")]
            except Exception as exc:  # a frame that cannot be evaluated is itself a problem
                errors.append(f"could not read errors of frame {frame.url[:60]}: {exc}")
        title = page.title()
    finally:
        context.close()
    return {"errors": errors, "blocked": blocked, "served": served, "maps": maps, "n_iframes": n_iframes,
            "title": title, "features": features, "tooltips": tooltips, "injected": injected}


def _assert_clean(result: dict, name: str) -> None:
    assert not result["errors"], f"{name}: JavaScript errors:\n" + "\n".join(result["errors"][:20])
    assert not result["blocked"], f"{name}: requests beyond Leaflet (blocked in the test):\n" + \
        "\n".join(sorted(set(result["blocked"]))[:20])
    assert len(result["maps"]) == result["n_iframes"], \
        f"{name}: {result['n_iframes']} map iframes but {len(result['maps'])} frames loaded"
    for i, m in enumerate(result["maps"], start=1):
        assert m["containers"] >= 1, f"{name}: map {i} has no Leaflet container"
        assert m["paths"] > 0, f"{name}: map {i} drew no vector paths"


@pytest.mark.parametrize("stem", STEMS)
def test_document_opens_without_errors_and_draws_maps(browser, demo_outputs, stem):
    run = rendered(demo_outputs, stem)
    result = open_in_browser(browser, run.html, serve_leaflet=True)
    _assert_clean(result, stem)
    assert result["title"], f"{stem} has no <title>"
    if stem == "strategic_assessment":
        assert result["n_iframes"] >= 2, "the strategic assessment must show its ward and hotspot maps"
    if result["n_iframes"]:
        assert result["served"], f"{stem}: maps drew but Leaflet was never requested"


def test_index_opens_without_errors(browser, demo_outputs):
    if demo_outputs.index is None:
        pytest.fail(f"no document rendered, so there is no index: {demo_outputs.failures}")
    result = open_in_browser(browser, demo_outputs.index, serve_leaflet=False)
    _assert_clean(result, "index.html")


def test_offline_strategic_assessment_draws_maps_with_network_blocked(browser, demo_outputs):
    if demo_outputs.offline_run is None:
        pytest.fail(f"offline strategic assessment did not render: {demo_outputs.offline_failure}")
    result = open_in_browser(browser, demo_outputs.offline_run.html, serve_leaflet=False)
    assert not result["served"]
    _assert_clean(result, "strategic_assessment (offline)")
    assert result["n_iframes"] >= 2


def test_network_block_is_effective(browser, tmp_path):
    """The harness itself: a page that needs the network shows errors and blocked requests."""
    page = tmp_path / "needs_network.html"
    page.write_text('<!DOCTYPE html><html><head><title>t</title>'
                    '<script src="https://cdn.example.org/lib.js"></script></head>'
                    '<body><script>window.lib.run();</script></body></html>', encoding="utf-8")
    result = open_in_browser(browser, page, serve_leaflet=False)
    assert result["blocked"] == ["https://cdn.example.org/lib.js"]
    assert any("lib" in e for e in result["errors"])


@pytest.mark.parametrize("stem", STEMS)
def test_hostile_names_never_run_when_every_map_feature_is_hovered_and_clicked(browser, injected_outputs, stem):
    """Issue 9: names such as ``Castle Hill<img src=x onerror=alert(1)>`` in the wards, small areas,
    neighbourhoods and strategy, every document rendered offline and opened with all network
    blocked; every feature of every map is hovered and clicked. No dialog, no script error and
    no injected element in any frame."""
    if stem not in injected_outputs.runs:
        pytest.fail(f"{stem} did not render with hostile names: {injected_outputs.failures.get(stem, 'not rendered')}")
    result = open_in_browser(browser, injected_outputs.runs[stem].html, serve_leaflet=False, exercise=True)
    dialogs = [e for e in result["errors"] if e.startswith("dialog")]
    assert not dialogs, f"{stem}: data text ran as script: {dialogs[:10]}"
    assert not result["injected"], f"{stem}: elements injected by data text: {result['injected'][:10]}"
    _assert_clean(result, f"{stem} (hostile names)")
    assert result["n_iframes"] >= 1, f"{stem} must show at least one map"
    assert result["features"] >= result["n_iframes"] and result["tooltips"] >= result["n_iframes"], \
        f"{stem}: {result['features']} features hovered opened {result['tooltips']} tooltips"


# -- accessibility and phones (issue 13) ---------------------------------------------------

PHONE = {"width": 390, "height": 844}


def _axe_serious(browser, html: Path, viewport: dict | None = None) -> list[str]:
    """axe-core (shipped inside the axe-playwright-python package) on a page opened from disk,
    network blocked except Leaflet served locally; the serious and critical violations."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError as exc:
        pytest.skip(f"axe-playwright-python is not installed: {exc}")
    context = browser.new_context(viewport=viewport) if viewport else browser.new_context()
    js, css = _leaflet_asset("leaflet.js"), _leaflet_asset("leaflet.css")

    def route(r):
        url = r.request.url
        if url.startswith(LOCAL):
            return r.continue_()
        if _OSM_TILE.match(url):
            return _tile(r)
        if _LEAFLET_CDN.match(url):
            is_js = url.split("?")[0].lower().endswith(".js")
            return r.fulfill(status=200, body=js if is_js else css,
                             content_type="application/javascript" if is_js else "text/css")
        return r.abort()

    context.route("**/*", route)
    try:
        page = context.new_page()
        page.goto(html.as_uri(), wait_until="load", timeout=60_000)
        result = Axe().run(page)
    finally:
        context.close()
    return [f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} nodes, e.g. "
            f"{v['nodes'][0]['target'] if v['nodes'] else ''}"
            for v in result.response["violations"] if v.get("impact") in ("serious", "critical")]


@pytest.mark.parametrize("stem", STEMS)
def test_document_has_no_serious_accessibility_violations(browser, demo_outputs, stem):
    run = rendered(demo_outputs, stem)
    found = _axe_serious(browser, run.html)
    assert not found, f"{stem}: axe-core found serious or critical violations:\n" + "\n".join(found)


def test_index_has_no_serious_accessibility_violations(browser, demo_outputs):
    if demo_outputs.index is None:
        pytest.fail(f"no document rendered, so there is no index: {demo_outputs.failures}")
    found = _axe_serious(browser, demo_outputs.index)
    assert not found, "index.html: axe-core found serious or critical violations:\n" + "\n".join(found)


_MEASURE_LEGENDS = """
() => Array.from(document.querySelectorAll('iframe.map-frame')).map(f => {
  const d = f.contentDocument; if (!d) return null;
  const map = d.querySelector('.leaflet-container'); const legend = d.querySelector('.map-legend');
  if (!map || !legend) return {map: !!map, legend: !!legend};
  const m = map.getBoundingClientRect(), l = legend.getBoundingClientRect();
  return {map: true, legend: true, share: (l.width * l.height) / (m.width * m.height)};
})
"""


@pytest.mark.parametrize("stem", STEMS)
def test_phone_width_has_no_overflow_and_small_map_legends(browser, demo_outputs, stem):
    run = rendered(demo_outputs, stem)
    context = browser.new_context(viewport=PHONE)
    js, css = _leaflet_asset("leaflet.js"), _leaflet_asset("leaflet.css")
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(LOCAL) else _tile(r)
                  if _OSM_TILE.match(r.request.url) else (
        r.fulfill(status=200, body=js if r.request.url.split("?")[0].endswith(".js") else css,
                  content_type="application/javascript" if r.request.url.split("?")[0].endswith(".js")
                  else "text/css") if _LEAFLET_CDN.match(r.request.url) else r.abort()))
    try:
        page = context.new_page()
        page.goto(run.html.as_uri(), wait_until="load", timeout=60_000)
        for frame in page.frames[1:]:
            try:
                frame.wait_for_function("document.querySelectorAll('.leaflet-interactive').length > 0",
                                        timeout=MAP_TIMEOUT_MS)
            except Exception:  # the drawing test reports maps that do not draw
                pass
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        legends = page.evaluate(_MEASURE_LEGENDS)
    finally:
        context.close()
    assert widths[0] <= widths[1], f"{stem}: the page is {widths[0]} px wide on a {widths[1]} px phone screen"
    for i, m in enumerate(legends, start=1):
        if m and m.get("legend") and m.get("map"):
            assert m["share"] <= 0.25, f"{stem}: map {i}'s legend covers {m['share']:.0%} of the map at 390 px"
