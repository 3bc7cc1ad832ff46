#!/usr/bin/env python3
"""kiosk.gui.report_editor: an applicant writes a long 附件2 report by touch, and it wraps.

Starts Xvfb (--size, 1920x1080 or 1366x768 in ctest) and shenbao-kiosk on a fresh data folder, starts an application
and opens the form's first multi-line field long enough for the 823-character paragraph
in tests/data/text/report_800.txt (a realistic construction report: Chinese with
numbers, Latin, quotes, brackets and book titles). Then, like an applicant:
  * types the first 400 characters as key presses (a physical keyboard or the system
    input method), then pastes the rest (the X clipboard, held by xclip; Ctrl+V);
  * checks that the text is wrapped: the editor reports many lines, and in the
    screenshot no ink lies in the field's right margin while the lines reach close to
    it (unwrapped text would run into the margin and be clipped at the border);
  * taps into the middle of the visible text: the caret moves there (not to the end);
  * with the on-screen keyboard only: 退格 twice, then 中国 (pinyin), 2026 (number pad),
    ai (Latin) and 一 (handwriting) inserted at the caret;
  * drags inside the field: its text scrolls, the page and the text stay as they were;
  * the store then holds exactly the paragraph with those edits at the tapped place.
PNGs (typed, pasted, edited, scrolled) go to --artifacts.

Run: ctest -R kiosk.gui.report_editor --output-on-failure, or
  tests/gui/report_editor.py --kiosk build/release/kiosk/shenbao-kiosk \\
      --store-cli build/release/tools/shenbao-store --form assets/forms/alliance-2022.json \\
      --text tests/data/text/report_800.txt --artifacts build/release/artifacts/kiosk-report
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiosk_gui as kg  # noqa: E402
import keyboard_fill as kf  # noqa: E402  (its on-screen keyboard driver)

INSERTED = "中国2026ai一"


def report_field(form_path, length):
    """(section index, field id) of the form's first multi-line field that takes `length` characters."""
    with open(form_path, encoding="utf-8") as f:
        form = json.load(f)
    for i, s in enumerate(form["sections"]):
        for fld in s["fields"]:
            if fld["type"] == "multiline" and fld.get("max_length", 0) >= length:
                return i, fld["id"]
    raise kg.TestFailure("%s has no multi-line field for %d characters" % (form_path, length))


def editor_state(kiosk, fid, m=None):
    """The editor's published layout: {"lines", "line", "caret", "scroll", "editing"} as ints."""
    m = m or kiosk.map()
    label = (m or {}).get("labels", {}).get("editor." + fid)
    kg.check(label, "the UI map has no editor state for %s" % fid)
    return {k: int(v) for k, v in (part.split("=") for part in label.split())}


def wait_editor(kiosk, fid, pred, what, timeout=20):
    m = kiosk.wait(lambda m: m and "editor." + fid in m.get("labels", {}) and pred(editor_state(kiosk, fid, m)),
                   timeout, what)
    return editor_state(kiosk, fid, m)


def check_wrapped(rgb, width, rect, what):
    """No ink in the field's right margin, and ink close to it on several lines."""
    x, y, w, h = (int(round(v)) for v in rect)

    def ink_rows(x0, x1):
        rows = 0
        for yy in range(y + 6, y + h - 6):
            base = (yy * width) * 3
            dark = sum(1 for xx in range(x0, x1)
                       if max(rgb[base + xx * 3], rgb[base + xx * 3 + 1], rgb[base + xx * 3 + 2]) < 100)
            rows += dark > 0
        return rows
    margin = ink_rows(x + w - 14, x + w - 4)
    kg.check(margin == 0, "%s: %d pixel rows of text in the field's right margin (x %d..%d): not wrapped"
             % (what, margin, x + w - 14, x + w - 4))
    reach = ink_rows(x + w - 90, x + w - 20)
    kg.check(reach >= 40, "%s: lines stop short of the field's right edge (%d rows with ink near it)" % (what, reach))
    return reach


def stored_text(store, fid):
    rows = store.list()
    kg.check(len(rows) == 1, "expected one record, the store lists %r" % rows)
    return store.show(rows[0][0])["data"].get(fid)


def wait_stored(store, fid, want, timeout=10):
    t0 = time.monotonic()
    got = None
    while time.monotonic() - t0 < timeout:
        got = stored_text(store, fid)
        if got == want:
            return
        time.sleep(0.2)
    common = next((i for i, (a, b) in enumerate(zip(got or "", want)) if a != b), min(len(got or ""), len(want)))
    raise kg.TestFailure("the store holds %d characters, expected %d; first difference at %d: %r vs %r"
                         % (len(got or ""), len(want), common, (got or "")[common:common + 20], want[common:common + 20]))


def drive(kiosk, shot, target, form_path, text, store):
    section, fid = report_field(form_path, len(text))
    field = "field." + fid
    kiosk.wait_screen("welcome")
    kiosk.click("welcome.new")
    kiosk.wait_screen("form")
    kiosk.click("section.%d" % section)
    kiosk.wait(lambda m: m and field in m["rects"], 10, "the report section")
    kiosk.click(field)
    kb = kf.Keyboard(kiosk, target, shot)
    kb.shots.add("pinyin-composing")  # keyboard_fill checks the composition; here only the result
    kb.wait_open("pinyin")
    wait_editor(kiosk, fid, lambda e: e["editing"] == 1, "the report field being edited")

    # Typed (as key presses) in chunks of 100 characters, each chunk's characters bound to spare keys first.
    half = 400
    for i in range(0, half, 100):
        kiosk.type_text(text[i:min(i + 100, half)])
    wait_editor(kiosk, fid, lambda e: e["caret"] == half, "the caret after %d typed characters" % half)
    shot("report-1-typed")
    clip = kg.spawn(["xclip", "-selection", "clipboard", "-i"], stdin=subprocess.PIPE)
    clip.stdin.write(text[half:].encode())
    clip.stdin.close()
    time.sleep(0.3)  # xclip owns the selection
    try:
        kiosk.key("ctrl+v")
        e = wait_editor(kiosk, fid, lambda e: e["caret"] == len(text), "the caret after the paste")
    finally:
        kg.stop(clip)
    rgb = kiosk.x11.screenshot(os.path.join(shot.artifacts, "report-2-pasted.png"), kiosk.width, kiosk.height)
    rect = kiosk.rect(field)
    reach = check_wrapped(rgb, kiosk.width, rect, "after the paste")
    kg.check(e["lines"] >= 8, "%d characters laid out on only %d lines" % (len(text), e["lines"]))
    wait_stored(store, fid, text)
    print("typed %d + pasted %d characters: %d wrapped lines, %d rows of ink near the right edge, none in the margin"
          % (half, len(text) - half, e["lines"], reach))

    # A tap in the middle of the visible text puts the caret there.
    x, y, w, h = kiosk.rect(field)
    kiosk.tap_at(x + w * 0.45, y + h * 0.5)
    e = wait_editor(kiosk, fid, lambda e: e["caret"] != len(text), "the caret to move to the tap")
    caret = e["caret"]
    kg.check(len(text) * 0.2 < caret < len(text) - 20, "the tap put the caret at %d of %d" % (caret, len(text)))
    kg.check(e["line"] < e["lines"] - 1, "the tap left the caret on the last line")
    for _ in range(2):
        kb.tap("kbd.key.backspace")
    wait_editor(kiosk, fid, lambda e: e["caret"] == caret - 2, "two characters deleted before the caret")
    kb.pinyin([("zhongguo", "中国"), ("#", "2026")])
    kb.switch("latin")
    kb.keys("ai")
    kb.switch("handwriting")
    kb.handwrite([kf.HANDWRITING[1]])
    want = text[:caret - 2] + INSERTED + text[caret:]
    wait_editor(kiosk, fid, lambda e: e["caret"] == caret - 2 + len(INSERTED), "the caret after the inserted text")
    wait_stored(store, fid, want)
    time.sleep(0.3)
    rgb = kiosk.x11.screenshot(os.path.join(shot.artifacts, "report-3-edited.png"), kiosk.width, kiosk.height)
    check_wrapped(rgb, kiosk.width, kiosk.rect(field), "after the edits")
    print("tapped at character %d of %d: 2 deleted, %r inserted there with the on-screen keyboard" % (caret, len(text), INSERTED))

    # A drag inside the field scrolls its text, not the page, and changes nothing.
    before = editor_state(kiosk, fid)
    x, y, w, h = kiosk.rect(field)
    body_before = kiosk.rect("section-body")
    kiosk.drag(x + w * 0.5, y + h * 0.3, y + h * 0.85)
    e = wait_editor(kiosk, fid, lambda e: e["scroll"] < before["scroll"], "the text to scroll under the finger")
    shot("report-4-scrolled")
    kg.check(kiosk.rect(field)[1] == y and kiosk.rect("section-body") == body_before, "the drag moved the page")
    wait_stored(store, fid, want)
    print("a drag scrolled the text from %d to %d px inside the field" % (before["scroll"], e["scroll"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--store-cli", required=True)
    ap.add_argument("--form", required=True, help="the form definition the kiosk shows")
    ap.add_argument("--text", required=True, help="the paragraph to write (UTF-8)")
    ap.add_argument("--artifacts", required=True, help="folder for the PNGs")
    ap.add_argument("--size", default="1920x1080", help="the screen, WxH (the kiosk fills it)")
    ap.add_argument("--budget", type=int, default=400, help="seconds before the test gives up")
    ap.add_argument("--keep", action="store_true", help="keep the scratch data folder")
    args = ap.parse_args()
    kg.require_programs("Xvfb", "xdotool", "xclip")
    kg.deadline(args.budget)
    kg.fresh_artifacts(args.artifacts)
    with open(args.text, encoding="utf-8") as f:
        text = f.read().strip()
    work = tempfile.mkdtemp(prefix="kiosk-gui-report-")
    data_dir = os.path.join(work, "data")
    t0 = time.monotonic()
    store = kg.StoreCli(args.store_cli, data_dir)

    def drive_and_close(kiosk):
        drive(kiosk, kg.shot_after_frame(args.artifacts, kiosk), kg.touch_target(kiosk), args.form, text, store)
        kiosk.stop()

    def body():
        size = tuple(int(v) for v in args.size.split("x"))
        kg.with_kiosk(args.kiosk, data_dir, work, args.artifacts, drive_and_close, size=size)
        print("screenshots in %s (%.0f s)" % (args.artifacts, time.monotonic() - t0))

    return kg.run_test(work, body, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
