#!/usr/bin/env python3
"""kiosk.gui.form_layout: the form uses the whole screen whenever the keyboard is closed.

At 1920x1080 and at 1366x768 (a fresh Xvfb and kiosk each), from the kiosk's --ui-map:
  * a new application: the section body reaches down to the bottom bar (the 上一节 /
    下一节 buttons), the section list is as tall as the body, the top bar's buttons and
    the body end inside the screen;
  * a text field tapped: the keyboard opens, the body ends above it, the field is inside it;
  * 完成: the body reaches the bottom bar again;
  * the keyboard open, then 下一节: the next section's body reaches the bottom bar;
  * the keyboard open, then the language switch: the body reaches the bottom bar;
  * the window resized (1920x1080 to 1366x768, 1366x768 to 1280x720): the body follows it to the new bottom.
Each step leaves a PNG in --artifacts (layout-<W>x<H>-<step>.png).

Run: ctest -R kiosk.gui.form_layout --output-on-failure, or
  tests/gui/form_layout.py --kiosk build/release/kiosk/shenbao-kiosk --artifacts build/release/artifacts/kiosk-layout
"""

import argparse
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiosk_gui as kg  # noqa: E402

SIZES = [(1920, 1080), (1366, 768)]
# The body ends one item spacing (12 px) above the bottom bar's buttons; allow a few px of rounding.
GAP = 20


def settled(kiosk, quiet=0.5):
    """The map once the kiosk has stopped drawing (it draws only while something changes)."""
    m = kiosk.map()
    while True:
        time.sleep(quiet)
        m2 = kiosk.map()
        if m2 and m and m2["frame"] == m["frame"]:
            return m2
        m = m2


def check_full(kiosk, m, what, width, height):
    body = kiosk.rect("section-body", m)
    prev = kiosk.rect("form.prev", m)
    sections = kiosk.rect("sections", m)
    kg.check("kbd" not in m["rects"], "%s: the keyboard is still open" % what)
    bottom = body[1] + body[3]
    kg.check(prev[1] - GAP <= bottom <= prev[1], "%s: the section body ends at y=%d, the bottom bar starts at y=%d: "
             "%d px of the screen unused" % (what, bottom, prev[1], prev[1] - bottom))
    kg.check(prev[1] + prev[3] <= height and prev[1] + prev[3] >= height - 90,
             "%s: the bottom bar (y %d..%d) is not at the bottom of the %d px screen" % (what, prev[1], prev[1] + prev[3], height))
    kg.check(abs(sections[3] - body[3]) <= 1, "%s: the section list is %d px tall, the body %d" % (what, sections[3], body[3]))
    for name in ("lang", "form.leave", "form.review", "section-body"):
        r = kiosk.rect(name, m)
        kg.check(r[0] + r[2] <= width, "%s: %s ends at x=%d, past the %d px screen" % (what, name, r[0] + r[2], width))
    return bottom


def check_keyboard(kiosk, m, what, field):
    body = kiosk.rect("section-body", m)
    kbd = kiosk.rect("kbd", m)
    f = kiosk.rect(field, m)
    kg.check(body[1] + body[3] <= kbd[1], "%s: the body (to y=%d) runs under the keyboard (from y=%d)"
             % (what, body[1] + body[3], kbd[1]))
    kg.check(f[1] >= body[1] and f[1] + f[3] <= body[1] + body[3], "%s: the field is not inside the visible body" % what)


def first_text_field(m):
    names = [n for n in m["rects"] if n.startswith("field.") and "[" not in n]
    kg.check(names, "no text field on this section")
    return min(names, key=lambda n: m["rects"][n][1])


def open_keyboard(kiosk, field):
    kiosk.click(field)
    return kiosk.wait(lambda m: m and "kbd" in m["rects"] and "kbd.done" in m["rects"], 30, "the keyboard for %s" % field)


def drive(kiosk, shot, w, h):
    tag = "%dx%d" % (w, h)
    kiosk.wait_screen("welcome")
    kiosk.click("welcome.new")
    kiosk.wait_screen("form")
    m = settled(kiosk)
    full = check_full(kiosk, m, tag + " new application", w, h)
    shot(kiosk, "layout-%s-1-new" % tag)

    field = first_text_field(m)
    m = open_keyboard(kiosk, field)
    m = settled(kiosk)
    check_keyboard(kiosk, m, tag + " keyboard open", field)
    shot(kiosk, "layout-%s-2-keyboard" % tag)

    kiosk.click("kbd.done")
    m = settled(kiosk)
    check_full(kiosk, m, tag + " after 完成", w, h)
    shot(kiosk, "layout-%s-3-closed" % tag)

    open_keyboard(kiosk, field)
    kiosk.click("form.next")
    m = settled(kiosk)
    kg.check(m["screen"] == "form", "%s: 下一节 left the form" % tag)
    check_full(kiosk, m, tag + " next section with the keyboard open", w, h)
    shot(kiosk, "layout-%s-4-next" % tag)

    field = first_text_field(m)
    open_keyboard(kiosk, field)
    kiosk.click("lang")
    m = settled(kiosk)
    check_full(kiosk, m, tag + " language switch with the keyboard open", w, h)
    shot(kiosk, "layout-%s-5-lang" % tag)

    # A smaller window (no window manager here: the kiosk's own window is resized).
    nw, nh = (1366, 768) if (w, h) == (1920, 1080) else (1280, 720)
    kg.xdotool("windowsize", kiosk.window, nw, nh)
    m = settled(kiosk, 0.8)
    check_full(kiosk, m, "%s resized to %dx%d" % (tag, nw, nh), nw, nh)
    shot(kiosk, "layout-%s-6-resized" % tag)
    print("%s: body to y=%d of %d; keyboard open, closed, next section, language, resize to %dx%d: all full height"
          % (tag, full, h, nw, nh))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--artifacts", required=True, help="folder for the PNGs")
    ap.add_argument("--budget", type=int, default=300, help="seconds before the test gives up")
    ap.add_argument("--keep", action="store_true", help="keep the scratch data folder")
    args = ap.parse_args()
    kg.require_programs("Xvfb", "xdotool")
    kg.deadline(args.budget)
    kg.fresh_artifacts(args.artifacts)
    work = tempfile.mkdtemp(prefix="kiosk-gui-layout-")
    shot = kg.screenshot_to(args.artifacts)

    def body():
        for w, h in SIZES:
            data_dir = os.path.join(work, "data-%dx%d" % (w, h))
            kg.with_kiosk(args.kiosk, data_dir, work, args.artifacts, lambda k: drive(k, shot, w, h), size=(w, h))

    return kg.run_test(work, body, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
