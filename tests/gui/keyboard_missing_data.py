#!/usr/bin/env python3
"""kiosk.gui.keyboard_missing_data: without the Rime data and the handwriting model the
kiosk still starts, its keyboard hides the pinyin and handwriting layouts (the other
layouts still type), and the staff screen names the Debian packages to install.

Starts Xvfb and shenbao-kiosk with --rime-data pointing at an empty folder and
--handwriting-model at a file that does not exist (as on a terminal where
rime-prelude / rime-data-luna-pinyin and tegaki-zinnia-simplified-chinese are not
installed). Signs in as staff (PIN set with shenbao-store staff-pin) and reads the
staff screen's keyboard lines from the UI map and a screenshot; then, as an applicant,
opens a Chinese text field: the keyboard opens on the Latin layout with no 拼音 / 手写
tab, and the letters tapped reach the store.

Run: ctest -R kiosk.gui.keyboard_missing_data --output-on-failure
"""

import argparse
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiosk_gui as kg  # noqa: E402

def drive(kiosk, shot):
    kiosk.staff_sign_in(kg.STAFF_PIN)
    # The engines load on a background thread: the lines appear once they have failed.
    m = kiosk.wait(lambda m: m and m["screen"] == "staff" and "staff.input-problems" in m["rects"], 30,
                   "the staff screen's keyboard lines")
    time.sleep(0.3)
    shot("kbd-missing-staff")
    log = kiosk.log_tail(4000)
    for package in ("rime-prelude", "tegaki-zinnia-simplified-chinese"):
        kg.check(package in log, "the kiosk did not name %s (log: %s)" % (package, log[-800:]))
    kiosk.click("staff.logout")
    kiosk.wait_screen("welcome")

    kiosk.click("welcome.new")
    kiosk.wait_screen("form")
    kiosk.click("field.alliance_name")
    m = kiosk.wait(lambda m: m and "kbd.key.shift" in m["rects"], 10, "the keyboard on its Latin layout")
    for hidden in ("kbd.layout.pinyin", "kbd.layout.handwriting", "kbd.pad", "kbd.preedit"):
        kg.check(hidden not in m["rects"], "%s is shown although its data is missing" % hidden)
    kg.check("kbd.layout.latin" in m["rects"] and "kbd.layout.numbers" in m["rects"], "the Latin and number tabs are missing")
    for c in "abc":
        kiosk.click("kbd.key." + c)
    time.sleep(0.3)
    shot("kbd-missing-latin")
    kiosk.click("kbd.done")
    kiosk.settle()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--store-cli", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--budget", type=int, default=200)
    args = ap.parse_args()
    kg.require_programs("Xvfb", "xdotool")
    kg.deadline(args.budget)
    kg.fresh_artifacts(args.artifacts)
    work = tempfile.mkdtemp(prefix="kiosk-gui-kbd-missing-")
    data_dir = os.path.join(work, "data")
    empty_rime = os.path.join(work, "no-rime-data")
    os.makedirs(empty_rime)
    store = kg.StoreCli(args.store_cli, data_dir)
    png = kg.screenshot_to(args.artifacts)

    def drive_and_close(kiosk):
        drive(kiosk, lambda name: png(kiosk, name))
        kiosk.stop()

    def body():
        store.run("init")
        store.set_staff_pin(kg.STAFF_PIN)
        kg.with_kiosk(args.kiosk, data_dir, work, args.artifacts, drive_and_close,
                      extra_args=["--rime-data", empty_rime, "--handwriting-model", os.path.join(work, "handwriting-zh_CN.model")])
        rows = store.list()
        kg.check(len(rows) == 1, "expected one record, the store lists %r" % rows)
        got = store.show(rows[0][0])["data"].get("alliance_name")
        kg.check(got == "abc", "the store holds %r for alliance_name, expected 'abc'" % got)
        print("without Rime data and handwriting model: the kiosk ran, hid both layouts, named the packages, typed 'abc'")

    return kg.run_test(work, body)


if __name__ == "__main__":
    sys.exit(main())
