"""The review pages' inline style sheet and script (no network: a page is one file).

The script only adds comfort: smooth jumps between a claim and its evidence with a "back"
button, and a hover card. Everything it touches is plain HTML that works without it (links to
``#ev-N``/``#claim-N``, ``title`` attributes), and it never inserts markup (``textContent``
only), so untrusted text it shows stays text.
"""

from __future__ import annotations

import base64
import hashlib

# Highlight colours, by who a claim is attributed to. Opaque, so a screenshot shows them exactly;
# each kind also has its own border style and label, so colour is never the only signal.
COLOURS = {
    "named": ("#cfe3ff", "#1f5fbf"),
    "anon": ("#ffdca8", "#a84f00"),
    "article": ("#d4efcf", "#2e7d32"),
}
KIND_LABELS = {
    "named": "named source",
    "anon": "anonymous source",
    "article": "the article itself",
}
BORDERS = {"named": "solid", "anon": "dashed", "article": "dotted"}

CSS = """
:root { --ink: #1b1b1b; --muted: #555; --rule: #d0d0d0; --panel: #f6f6f4; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 Georgia, "DejaVu Serif", serif; color: var(--ink); background: #fff; }
a { color: #0b4fa8; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .3rem .6rem; z-index: 10; }
header, footer { padding: 1rem 2rem; }
header { border-bottom: 1px solid var(--rule); }
header h1 { margin: .2rem 0 .4rem; font-size: 1.6rem; line-height: 1.25; }
.kicker { margin: 0; font: 600 .8rem/1.2 system-ui, sans-serif; letter-spacing: .08em;
  text-transform: uppercase; color: var(--muted); }
.abstract { margin: .3rem 0; max-width: 60rem; }
.counts, .legend, aside, footer, .meta { font: .9rem/1.45 system-ui, "DejaVu Sans", sans-serif; }
.counts { color: var(--muted); margin: .4rem 0 0; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 30rem; gap: 0; }
main { padding: 1rem 2rem 2rem; }
main h2, aside h2, footer h2 { font: 600 1.05rem/1.3 system-ui, sans-serif; margin: 1rem 0 .5rem; }
.article { white-space: pre-wrap; max-width: 44rem; font-size: 1.05rem; line-height: 1.8; }
aside { background: var(--panel); border-left: 1px solid var(--rule); padding: .5rem 1.2rem 2rem;
  position: sticky; top: 0; max-height: 100vh; overflow: auto; }
aside h3 { font-size: .95rem; margin: 1rem 0 .3rem; }
aside ol, aside ul { padding-left: 1.2rem; margin: .2rem 0; }
aside li { margin: 0 0 .55rem; }
.quote { display: block; color: var(--muted); font-style: italic; margin-top: .15rem; }
.badge { display: inline-block; font-size: .72rem; padding: 0 .35rem; border-radius: .6rem;
  border: 1px solid #888; margin-left: .25rem; white-space: nowrap; }
.badge.hedged { border-style: dashed; background: #fff6d6; }
.badge.anon { border-style: dashed; }
.muted { color: var(--muted); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: .3rem 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
mark { color: inherit; padding: 0 .05em; }
.ment { text-decoration: underline; text-decoration-thickness: 1px; text-underline-offset: .18em; }
.gap { border-bottom: 1px dotted var(--muted); }
sup.ref { font: 600 .7rem/1 system-ui, sans-serif; }
sup.ref a { text-decoration: none; padding: 0 .1em; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; }
.legend > span { white-space: nowrap; }
.dropped li, .warnings li { margin-bottom: .5rem; }
.problem { color: #8a1c1c; }
.missing { background: #ffe3e3; }
.extra { background: #fff3c4; }
mark.ev.missing { background: #ffd0d0; border-bottom: 3px double #b00000; }
mark.ev.extra { box-shadow: inset 0 0 0 1.5px #8a6d00; }
.hot { outline: 2px solid #222; }
.flash { animation: flash 1.2s ease-out 1; }
@keyframes flash { from { outline: 3px solid #e0a800; } to { outline: 3px solid transparent; } }
#back { position: fixed; bottom: 1.2rem; left: 1.2rem; font: 600 .9rem system-ui, sans-serif;
  padding: .45rem .8rem; border: 1px solid #333; background: #fff; border-radius: .3rem; cursor: pointer; }
#tip { position: absolute; z-index: 20; max-width: 26rem; background: #222; color: #fff;
  font: .85rem/1.4 system-ui, sans-serif; padding: .45rem .6rem; border-radius: .3rem;
  white-space: pre-line; pointer-events: none; }
table.side { width: 100%; border-collapse: collapse; font: .9rem/1.45 system-ui, sans-serif; }
table.side th, table.side td { border-top: 1px solid var(--rule); padding: .4rem .5rem;
  vertical-align: top; text-align: left; width: 50%; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
@media (max-width: 60rem) { .layout { grid-template-columns: 1fr; } aside { position: static;
  max-height: none; border-left: 0; } }
@media print {
  .layout { display: block; }
  aside { position: static; max-height: none; overflow: visible; border: 0; background: none; }
  #back, #tip, .skip { display: none !important; }
  mark, .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  section, li { break-inside: avoid; }
}
""" + "".join(
    f"mark.ev-{kind} {{ background: {bg}; border-bottom: 2px {BORDERS[kind]} {line}; }}\n"
    f".key-{kind} {{ background: {bg}; border-bottom: 2px {BORDERS[kind]} {line}; padding: 0 .3em; }}\n"
    for kind, (bg, line) in COLOURS.items()
)

JS = """
(function () {
  "use strict";
  var back = document.getElementById("back"), tip = document.getElementById("tip"), from = null;
  function pieces(n) { return document.querySelectorAll('[data-n="' + n + '"]'); }
  function flash(el) {
    var all = el.hasAttribute("data-n") ? pieces(el.getAttribute("data-n")) : [el];
    Array.prototype.forEach.call(all, function (p) {
      p.classList.remove("flash"); void p.offsetWidth; p.classList.add("flash");
    });
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-go]");
    if (!link) { return; }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) { return; }
    event.preventDefault();
    from = link;
    target.scrollIntoView({behavior: "smooth", block: "center"});
    flash(target);
    back.hidden = false;
  });
  back.addEventListener("click", function () {
    if (from) { from.scrollIntoView({behavior: "smooth", block: "center"}); flash(from); from.focus(); }
    back.hidden = true;
  });
  Array.prototype.forEach.call(document.querySelectorAll("mark[title]"), function (m) {
    m.setAttribute("data-tip", m.getAttribute("title"));
    m.removeAttribute("title");
  });
  function hot(n, on) {
    Array.prototype.forEach.call(pieces(n), function (p) { p.classList.toggle("hot", on); });
  }
  document.addEventListener("mouseover", function (event) {
    var m = event.target.closest("[data-tip]");
    if (!m) { return; }
    hot(m.getAttribute("data-n"), true);
    tip.textContent = m.getAttribute("data-tip");
    var box = m.getBoundingClientRect();
    tip.style.left = (window.scrollX + box.left) + "px";
    tip.style.top = (window.scrollY + box.bottom + 6) + "px";
    tip.hidden = false;
  });
  document.addEventListener("mouseout", function (event) {
    var m = event.target.closest("[data-tip]");
    if (m) { hot(m.getAttribute("data-n"), false); tip.hidden = true; }
  });
})();
"""


def script_hash(script: str) -> str:
    """The CSP source for ``script``: only this exact inline script may run on the page."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def head(title: str, *, with_script: bool = True) -> str:
    """``<head>`` with the style sheet and a Content-Security-Policy that allows nothing else:
    no network, no other script, so even markup that escaped our escaping could not run."""
    from summarizer.outputs.html.markup import text

    scripts = script_hash(JS) if with_script else "'none'"
    policy = f"default-src 'none'; style-src 'unsafe-inline'; script-src {scripts}; img-src data:"
    return (
        '<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="generator" content="summarizer">\n'
        f"<title>{text(title)}</title>\n<style>{CSS}</style>\n</head>"
    )
