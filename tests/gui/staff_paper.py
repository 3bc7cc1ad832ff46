#!/usr/bin/env python3
"""Staff paper in the real kiosk under Xvfb: sign in, open a record, 保存 PDF; then the
纸质材料 tab, 导出推荐汇总表. Checks the files land in the data folder's exports/ and
saves a PNG of each screen to --artifacts."""

import argparse
import glob
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiosk_gui as kg  # noqa: E402

check = kg.check


def wait_file(pattern, timeout, what):
    t0 = time.monotonic()
    while not glob.glob(pattern):
        if time.monotonic() - t0 > timeout:
            raise kg.TestFailure("timed out after %.0f s waiting for %s (%s)" % (timeout, what, pattern))
        time.sleep(0.05)
    return glob.glob(pattern)[0]


def drive(kiosk, record_id, exports, shot):
    kiosk.staff_sign_in(kg.STAFF_PIN, keypad=False)  # typed, as with a physical keyboard (staff_review taps it)
    kiosk.click("staff.record." + record_id)
    kiosk.wait_screen("staff-record")
    kiosk.click("staff.save-pdf")
    pdf = wait_file(os.path.join(exports, "application-%s.pdf" % record_id), 30, "the saved PDF")
    with open(pdf, "rb") as f:
        check(f.read(5) == b"%PDF-", "%s is not a PDF" % pdf)
    kiosk.move(5, 700)  # the kiosk draws only on input: a pointer move gets a fresh frame with the notice
    shot(kiosk, "01-record-pdf-saved")
    kiosk.click("staff.record-back")
    kiosk.wait_screen("staff")
    kiosk.click("staff.tab.paper")
    kiosk.click("staff.export-summary")
    xlsx = wait_file(os.path.join(exports, "summary-*.xlsx"), 30, "the exported summary")
    with open(xlsx, "rb") as f:
        check(f.read(2) == b"PK", "%s is not an .xlsx (zip)" % xlsx)
    kiosk.move(5, 900)
    check("notice" in kiosk.map()["rects"], "no notice says where the summary went")
    shot(kiosk, "02-paper-tab-exported")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--store-cli", required=True)
    ap.add_argument("--artifacts", required=True, help="folder for the PNGs of each screen")
    ap.add_argument("--budget", type=int, default=180, help="seconds before the test gives up")
    args = ap.parse_args()
    kg.require_programs("Xvfb", "xdotool")
    kg.deadline(args.budget)
    kg.fresh_artifacts(args.artifacts)
    work = tempfile.mkdtemp(prefix="kiosk-gui-paper-")
    data_dir = os.path.join(work, "data")
    store = kg.StoreCli(args.store_cli, data_dir)

    def body():
        store.run("init")
        store.run("generate", "-n", "2", "--seed", "3")
        store.set_staff_pin(kg.STAFF_PIN)
        record_id = store.list("submitted")[0][0]
        shot = kg.screenshot_to(args.artifacts)
        exports = os.path.join(data_dir, "exports")
        kg.with_kiosk(args.kiosk, data_dir, work, args.artifacts, lambda kiosk: drive(kiosk, record_id, exports, shot))
        print("staff paper: PDF and summary saved; screens in %s" % args.artifacts)

    return kg.run_test(work, body)


if __name__ == "__main__":
    sys.exit(main())
