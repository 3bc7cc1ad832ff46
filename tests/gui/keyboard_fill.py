#!/usr/bin/env python3
"""kiosk.gui.keyboard_fill: an applicant with no physical keyboard fills in Chinese
fields only by tapping the kiosk's on-screen keyboard, and the store holds the exact text.

Starts Xvfb and shenbao-kiosk on a fresh data folder, taps "new application", then:
  * alliance_name   pinyin keys + candidate bar (重庆市 / 智能 / 网联 / 汽车 / 产业技术创新联盟,
                    picking each phrase from the bar by its label, paging when needed)
  * chairman_name   handwriting: finger strokes on the pad for 王 and 一
  * lead_address    pinyin + the number pad for 260 (section 二, the form scrolls)
  * lead_postal_code the number pad the field opens with
  * lead_email      the Latin layout the field opens with
Every tap is a synthetic touch (xdotool) on a key or candidate named in the UI map; no
key press ever reaches the kiosk. For every field it checks the keyboard opened with the
layout of the field's type, that the field is drawn wholly above the keyboard, and that
every key is at least the kiosk's touch target. A PNG of each layout goes to --artifacts.
It then closes the kiosk and reads the record with shenbao-store: the fields hold exactly
the text, and the Rime user folder (<data>/rime) holds no user dictionary.

Run: ctest -R kiosk.gui.keyboard_fill --output-on-failure, or
  tests/gui/keyboard_fill.py --kiosk build/release/kiosk/shenbao-kiosk \\
      --store-cli build/release/tools/shenbao-store --artifacts build/release/artifacts/kiosk-keyboard
"""

import argparse
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiosk_gui as kg  # noqa: E402

# (pinyin, text) chunks: the letters tapped, then candidates picked until `text` is committed.
ALLIANCE_NAME = [("chongqingshi", "重庆市"), ("zhineng", "智能"), ("wanglian", "网联"), ("qiche", "汽车"),
                 ("chanyejishuchuangxinlianmeng", "产业技术创新联盟")]
LEAD_ADDRESS = [("chongqingshi", "重庆市"), ("jiangbeiqu", "江北区"), ("jianxin", "建新"), ("donglu", "东路"),
                ("#", "260"), ("hao", "号")]
POSTAL_CODE = "400023"
EMAIL = "liuyang@changan.com.cn"
# Strokes on the pad as (x0, y0, x1, y1) in fractions of the pad: 王 then 一.
HANDWRITING = [("王", [(0.25, 0.2, 0.75, 0.2), (0.3, 0.5, 0.7, 0.5), (0.5, 0.2, 0.5, 0.8), (0.2, 0.8, 0.8, 0.8)]),
               ("一", [(0.15, 0.5, 0.85, 0.5)])]
EXPECTED = {
    "alliance_name": "重庆市智能网联汽车产业技术创新联盟",
    "chairman_name": "王一",
    "lead_address": "重庆市江北区建新东路260号",
    "lead_postal_code": POSTAL_CODE,
    "lead_email": EMAIL,
}


class Keyboard:
    def __init__(self, kiosk, target, shot):
        self.k, self.target, self.shot = kiosk, target, shot
        self.shots = set()

    def tap(self, name):
        self.k.click(name)

    def labels(self):
        return (self.k.map() or {}).get("labels", {})

    def wait_open(self, layout, timeout=30):
        """Waits for the keyboard with `layout` selected (the Rime deploy may still run)."""
        key = {"pinyin": "kbd.key.q", "numbers": "kbd.key.5", "latin": "kbd.key.shift", "handwriting": "kbd.pad"}[layout]
        self.k.wait(lambda m: m and key in m["rects"], timeout, "the %s keyboard" % layout)

    def check_layout(self, field, layout):
        """The keyboard is open on `layout`, the field is wholly above it, keys are big enough."""
        self.wait_open(layout)
        m = self.k.settle()
        kbd = self.k.rect("kbd", m)
        f = self.k.rect("field." + field, m)
        kg.check(f[1] + f[3] <= kbd[1], "field %s (y %d..%d) is covered by the keyboard (top %d)"
                 % (field, f[1], f[1] + f[3], kbd[1]))
        body = self.k.rect("section-body", m)
        kg.check(f[1] >= body[1] and f[1] + f[3] <= body[1] + body[3],
                 "field %s (y %d..%d) is not wholly inside the visible form (y %d..%d)"
                 % (field, f[1], f[1] + f[3], body[1], body[1] + body[3]))
        small = [n for n, r in m["rects"].items()
                 if n.startswith(("kbd.key.", "kbd.cand.", "kbd.layout.", "kbd.punct.", "kbd.page.", "kbd.hand."))
                 and (r[2] < self.target - 0.5 or r[3] < self.target - 0.5)]
        kg.check(not small, "keys smaller than the %.0f px touch target: %s" % (self.target, small[:8]))

    def switch(self, layout):
        self.tap("kbd.layout." + layout)
        self.wait_open(layout)

    def pinyin(self, chunks):
        for letters, text in chunks:
            if letters == "#":  # digits: the number pad and back
                self.switch("numbers")
                for d in text:
                    self.tap("kbd.key." + d)
                self.switch("pinyin")
                continue
            for c in letters:
                self.tap("kbd.key." + c)
            # The bar shows every letter tapped (Rime splits them into syllables).
            self.k.wait(lambda m: m and m.get("labels", {}).get("kbd.preedit", "").replace(" ", "") == letters, 10,
                        "the composition %r" % letters)
            if "pinyin-composing" not in self.shots:
                self.shots.add("pinyin-composing")
                self.shot("kbd-pinyin-composing")
                # A stray letter, then 退格: backspace walks back through the composition.
                before = self.generation()
                self.tap("kbd.key.x")
                self.wait_changed(before, "the composition with a stray x")
                preedit = self.labels().get("kbd.preedit", "").replace(" ", "")
                kg.check(preedit == letters + "x", "after a stray x the composition shows %r" % preedit)
                before = self.generation()
                self.tap("kbd.key.backspace")
                self.wait_changed(before, "the composition after 退格")
                preedit = self.labels().get("kbd.preedit", "").replace(" ", "")
                kg.check(preedit == letters, "退格 left the composition %r, expected %r" % (preedit, letters))
            self.pick(text)

    def pick(self, text):
        """Taps candidates (paging forward when needed) until `text` is committed."""
        left = text
        for _ in range(12):
            labels = self.labels()
            if not left:
                kg.check("kbd.cand.0" not in labels, "still composing after %r was committed" % text)
                return
            cands = sorted((k for k in labels if k.startswith("kbd.cand.")), key=lambda k: int(k.rsplit(".", 1)[1]))
            fits = [k for k in cands if left.startswith(labels[k])]
            if fits:
                best = max(fits, key=lambda k: len(labels[k]))
                left = left[len(labels[best]):]
                self.tap_and_wait(best, labels)
                continue
            kg.check("kbd.page.next" in self.k.map()["rects"], "no candidate for %r and no next page: %s"
                     % (left, [labels[k] for k in cands]))
            self.tap_and_wait("kbd.page.next", labels)
        raise kg.TestFailure("could not enter %r from the candidate bar" % text)

    def generation(self):
        return self.labels().get("kbd.generation")

    def wait_changed(self, before, what):
        """Waits for a frame whose candidate bar shows a newer engine state than `before`:
        the state changes in the frame that sees the tap, the bar shows it one frame later."""
        self.k.wait(lambda m: m and m.get("labels", {}).get("kbd.generation") != before, 10, what)

    def tap_and_wait(self, name, labels):
        """Taps a candidate-bar key and waits for the bar to show the result."""
        self.tap(name)
        self.wait_changed(labels.get("kbd.generation"), "the candidate bar to change after %s" % name)

    def handwrite(self, chars):
        for want, strokes in chars:
            pad = self.k.rect("kbd.pad")
            for x0, y0, x1, y1 in strokes:
                before = self.generation()
                self.stroke(pad, x0, y0, x1, y1)
                self.wait_changed(before, "candidates after a stroke")
            labels = self.labels()
            cands = [labels[k] for k in sorted((k for k in labels if k.startswith("kbd.cand.")),
                                               key=lambda k: int(k.rsplit(".", 1)[1]))]
            kg.check(want in cands[:5], "handwriting %s: not among the first candidates %s" % (want, cands))
            if "handwriting" not in self.shots:
                self.shots.add("handwriting")
                self.shot("kbd-handwriting")
            self.tap_and_wait("kbd.cand.%d" % cands.index(want), labels)

    def stroke(self, pad, x0, y0, x1, y1, steps=8):
        px, py, pw, ph = pad
        k = self.k
        k.move(px + pw * x0, py + ph * y0)
        k.button("mousedown")
        for i in range(1, steps + 1):
            t = i / steps
            k.move(px + pw * (x0 + (x1 - x0) * t), py + ph * (y0 + (y1 - y0) * t))
        k.button("mouseup")

    def keys(self, text):
        for c in text:
            self.tap("kbd.key." + c)


def open_field(kiosk, field):
    """Closes the keyboard (完成) if open, taps the body's blank margin (leaves the
    previous field), then the field."""
    if "kbd.done" in kiosk.map()["rects"]:
        kiosk.click("kbd.done")
    body, top, bottom = kiosk.body_bounds(kiosk.map())
    kiosk.tap_at(body[0] + 8, top + 40)
    kiosk.click("field." + field)


def drive(kiosk, shot, target):
    kiosk.wait_screen("welcome")
    kiosk.click("welcome.new")
    kiosk.wait_screen("form")
    kb = Keyboard(kiosk, target, shot)

    open_field(kiosk, "alliance_name")
    kb.check_layout("alliance_name", "pinyin")
    shot("kbd-pinyin")
    kb.pinyin(ALLIANCE_NAME)

    open_field(kiosk, "chairman_name")
    kb.check_layout("chairman_name", "pinyin")
    kb.switch("handwriting")
    kb.handwrite(HANDWRITING)
    kb.tap("kbd.done")
    kiosk.settle()
    kg.check("kbd" not in kiosk.map()["rects"], "the keyboard stayed open after 完成")

    kiosk.click("form.next")
    kiosk.wait(lambda m: m and m["screen"] == "form" and "field.lead_address" in m["rects"], 10, "section 二")
    open_field(kiosk, "lead_address")
    kb.check_layout("lead_address", "pinyin")
    kb.pinyin(LEAD_ADDRESS)
    shot("kbd-pinyin-address")

    open_field(kiosk, "lead_postal_code")
    kb.check_layout("lead_postal_code", "numbers")
    kb.keys(POSTAL_CODE)
    shot("kbd-numbers")

    open_field(kiosk, "lead_email")
    kb.check_layout("lead_email", "latin")
    kb.keys(EMAIL + "x")
    kb.tap("kbd.key.backspace")  # no composition: 退格 deletes the field's last character
    shot("kbd-latin")
    kb.tap("kbd.done")
    kiosk.settle()


def check_store(store, data_dir):
    rows = store.list()
    kg.check(len(rows) == 1, "expected one record, the store lists %r" % rows)
    data = store.show(rows[0][0])["data"]
    got = {k: data.get(k) for k in EXPECTED}
    kg.check(got == EXPECTED, "the store holds %r, expected %r" % (got, EXPECTED))
    rime = os.path.join(data_dir, "rime")
    kg.check(os.path.isdir(os.path.join(rime, "build")), "no deployed Rime data in %s" % rime)
    learnt = [n for n in os.listdir(rime) if ".userdb" in n]
    kg.check(not learnt, "the kiosk's Rime folder holds a user dictionary: %s" % learnt)
    print("record %s holds exactly the %d values tapped on the on-screen keyboard" % (rows[0][0], len(EXPECTED)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--store-cli", required=True)
    ap.add_argument("--artifacts", required=True, help="folder for the PNGs of each keyboard layout")
    ap.add_argument("--budget", type=int, default=400, help="seconds before the test gives up")
    ap.add_argument("--keep", action="store_true", help="keep the scratch data folder")
    args = ap.parse_args()
    kg.require_programs("Xvfb", "xdotool")
    kg.deadline(args.budget)
    kg.fresh_artifacts(args.artifacts)
    work = tempfile.mkdtemp(prefix="kiosk-gui-kbd-")
    data_dir = os.path.join(work, "data")
    t0 = time.monotonic()
    store = kg.StoreCli(args.store_cli, data_dir)

    def drive_and_close(kiosk):
        drive(kiosk, kg.shot_after_frame(args.artifacts, kiosk), kg.touch_target(kiosk))
        kiosk.stop()  # the window manager's close: pending saves are flushed

    def body():
        kg.with_kiosk(args.kiosk, data_dir, work, args.artifacts, drive_and_close)
        check_store(store, data_dir)
        print("screenshots in %s (%.0f s)" % (args.artifacts, time.monotonic() - t0))

    return kg.run_test(work, body, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
