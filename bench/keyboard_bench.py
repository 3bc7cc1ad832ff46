#!/usr/bin/env python3
"""keyboard_bench: the on-screen keyboard in the real kiosk under Xvfb (Mesa llvmpipe),
beside the kiosk without it (--no-keyboard) and beside its own Latin keys, same run.

How to run (from the repository root, after building):

    bench/keyboard_bench.py --kiosk build/release/kiosk/shenbao-kiosk

Needs Xvfb and xdotool; starts and stops its own Xvfb. About a minute. Prints every
figure beside its same-run baseline and the issue's target; asserts nothing (exit 1
only when it could not measure). --quick is the tiny configuration ctest runs.

What is measured:
  tap -> candidates   from xdotool's mouseup on a pinyin key returning (the X server has
                      the release) to the first UI-map write whose candidate bar shows the
                      new Rime state (kbd.generation changed): the kiosk's whole path, input,
                      Rime, layout, llvmpipe drawing, swap. Baseline: the same tap on a
                      Latin key (no engine) to the first frame showing the longer field
                      (kbd.chars changed): the same number of frames, without Rime.
  stroke -> candidates the same from the mouseup ending a handwriting stroke on the pad.
  resident memory     VmRSS of the kiosk after typing a phrase with the keyboard (pinyin
                      and handwriting used), beside the kiosk started with --no-keyboard after
                      the same phrase typed on a physical keyboard into the same field.
bench_ime (bench/ime_bench.cpp) measures the engines alone, without the GUI.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "tests", "gui"))
import kiosk_gui as kg  # noqa: E402
from kiosk_bench import pct, rss_kb  # noqa: E402  (this folder is on the path: the script's own)

PHRASES = ["chanyejishuchuangxinlianmeng", "chongqingshi", "qiantoudanwei", "jingjihexinxihua"]


def labels(kiosk):
    return (kiosk.map() or {}).get("labels", {})


def timed_release(kiosk, done):
    """mouseup, then polls the UI map until done(map) holds; returns ms from the release."""
    kg.xdotool("mouseup", 1)
    t0 = time.monotonic()
    while True:
        m = kiosk.map()
        if m and done(m):
            return (time.monotonic() - t0) * 1000
        kg.check(time.monotonic() - t0 < 10, "no frame after the release")
        time.sleep(0.0005)


def timed_tap(kiosk, name, done_factory):
    x, y, w, h = kiosk.rect(name)
    kiosk.move(x + w / 2, y + h / 2)
    kiosk.button("mousedown")
    m0 = kiosk.map()
    ms = timed_release(kiosk, done_factory(m0))
    kiosk.settle()
    return ms


def new_generation(m0):
    g0 = m0.get("labels", {}).get("kbd.generation")
    return lambda m: m.get("labels", {}).get("kbd.generation") != g0


def field_grew(m0):
    n0 = m0.get("labels", {}).get("kbd.chars")
    return lambda m: m.get("labels", {}).get("kbd.chars") != n0


def open_form(kiosk, field):
    kiosk.start()
    kiosk.wait_screen("welcome")
    kiosk.click("welcome.new")
    kiosk.wait_screen("form")
    kiosk.click("field." + field)


def with_keyboard(kiosk, phrases, strokes):
    open_form(kiosk, "alliance_name")
    kiosk.wait(lambda m: m and "kbd.key.q" in m["rects"], 60, "the pinyin keyboard")
    key_ms = []
    for p in phrases:
        for c in p:
            key_ms.append(timed_tap(kiosk, "kbd.key." + c, new_generation))
        kiosk.click("kbd.cand.0")
        kiosk.wait(lambda m: "kbd.cand.0" not in m.get("labels", {}), 5, "the phrase committed")
    # Handwriting: horizontal and vertical strokes (一, 十, ...), timed from each stroke's end.
    kiosk.click("kbd.layout.handwriting")
    kiosk.wait(lambda m: m and "kbd.pad" in m["rects"], 10, "the handwriting pad")
    stroke_ms = []
    for i in range(strokes):
        px, py, pw, ph = kiosk.rect("kbd.pad")
        horizontal = i % 2 == 0
        pts = [(px + pw * (0.2 + 0.6 * t / 6), py + ph * 0.5) if horizontal else (px + pw * 0.5, py + ph * (0.15 + 0.7 * t / 6))
               for t in range(7)]
        kiosk.move(*pts[0])
        kiosk.button("mousedown")
        for pt in pts[1:]:
            kiosk.move(*pt)
        m0 = kiosk.map()
        stroke_ms.append(timed_release(kiosk, new_generation(m0)))
        kiosk.settle()
        if i % 2 == 1:
            kiosk.click("kbd.hand.clear")
    # Baseline taps: the Latin layout only appends to the field.
    kiosk.click("kbd.layout.latin")
    kiosk.wait(lambda m: m and "kbd.key.shift" in m["rects"], 10, "the Latin keyboard")
    latin_ms = []
    for p in phrases:
        for c in p:
            latin_ms.append(timed_tap(kiosk, "kbd.key." + c, field_grew))
    time.sleep(0.5)
    return key_ms, stroke_ms, latin_ms, rss_kb(kiosk.proc.pid)


def without_keyboard(kiosk, phrases):
    open_form(kiosk, "alliance_name")
    kiosk.type_text("".join(phrases))
    time.sleep(0.5)
    return rss_kb(kiosk.proc.pid)


def main(work):
    ap = argparse.ArgumentParser(description="the on-screen keyboard in shenbao-kiosk under Xvfb")
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--strokes", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="tiny configuration for the smoke test")
    args = ap.parse_args()
    phrases = PHRASES[:1] if args.quick else PHRASES
    strokes = 4 if args.quick else args.strokes
    kg.require_programs("Xvfb", "xdotool")
    kg.deadline(400)
    with kg.Xvfb() as xvfb:
        x11 = kg.X11()
        try:
            plain = kg.Kiosk(args.kiosk, os.path.join(work, "plain"), os.path.join(work), x11, xvfb.width, xvfb.height,
                             extra_args=["--no-keyboard"])
            plain.map_path = os.path.join(work, "plain-map.json")
            plain.log_path = os.path.join(work, "plain.log")
            try:
                rss_plain = without_keyboard(plain, phrases)
            finally:
                plain.kill()
            kbd = kg.Kiosk(args.kiosk, os.path.join(work, "kbd"), work, x11, xvfb.width, xvfb.height)
            try:
                key_ms, stroke_ms, latin_ms, rss_kbd = with_keyboard(kbd, phrases, strokes)
            finally:
                kbd.kill()
        finally:
            x11.close()

    def verdict(ok):
        return "meets target" if ok else "MISSES target"

    print("keyboard_bench: shenbao-kiosk under Xvfb %dx%d, llvmpipe, %d cores; %d pinyin taps, %d strokes"
          % (xvfb.width, xvfb.height, os.cpu_count(), len(key_ms), len(stroke_ms)))
    print("%-42s %12s %16s %10s %10s  %s" % ("figure", "keyboard", "baseline", "ratio", "target", ""))
    for name, vals, p, target in (("pinyin tap -> candidates drawn, p50", key_ms, 50, None),
                                  ("pinyin tap -> candidates drawn, p99", key_ms, 99, 30)):
        k, b = pct(vals, p), pct(latin_ms, p)
        print("%-42s %9.1f ms %10.1f ms Latin %9.2fx %10s  %s" % (name, k, b, k / b, "< %d ms" % target if target else "",
                                                               verdict(k < target) if target else ""))
    for name, p, target in (("stroke end -> candidates drawn, p50", 50, None), ("stroke end -> candidates drawn, p99", 99, 50)):
        k, b = pct(stroke_ms, p), pct(latin_ms, p)
        print("%-42s %9.1f ms %10.1f ms Latin %9.2fx %10s  %s" % (name, k, b, k / b, "< %d ms" % target if target else "",
                                                               verdict(k < target) if target else ""))
    print("%-42s %9.1f MB %10.1f MB plain %+8.1f MB %10s  %s" % (
        "resident memory after typing (vs --no-keyboard)", rss_kbd / 1024, rss_plain / 1024, (rss_kbd - rss_plain) / 1024,
        "<= +60 MB", verdict(rss_kbd - rss_plain <= 60 * 1024)))
    return 0


if __name__ == "__main__":
    sys.exit(kg.run_bench("keyboard_bench", main, "kiosk-kbd-bench-"))
