#!/usr/bin/env python3
"""Staff review (初审) in the real kiosk under Xvfb: sign in with the staff PIN,
filter the records awaiting review, open a submitted application, try to not
recommend it without a reason (refused, nothing changes), then return it for
corrections with the reviewer's name and a comment; the store shows the record
returned with the decision by that name. A PNG of each step goes to --artifacts.

  staff_review.py --kiosk build/release/kiosk/shenbao-kiosk \\
                  --store-cli build/release/tools/shenbao-store --artifacts /tmp/shots
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

import kiosk_gui as kg

PIN = "13579"
REVIEWER = "李娜"
COMMENT = "请补充第2家企业的联系电话"


def prepare(store, data_dir):
    """One submitted application awaiting review, and the staff PIN."""
    store.run("init")
    store.run("generate", "-n", "1", "--seed", "3")
    r = subprocess.run([store.binary, "--data-dir", data_dir, "staff-pin"], input=(PIN + "\n").encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kg.check(r.returncode == 0, "staff-pin failed: %s" % r.stderr.decode(errors="replace"))
    rows = store.list("submitted")
    kg.check(len(rows) == 1, "expected one submitted record, found %s" % rows)
    return rows[0][0]


def awaiting(store):
    out = store.run("list", "--review", "awaiting")
    return [line.split()[0] for line in out.splitlines() if len(line.split()) > 1 and len(line.split()[0]) == 26]


def drive(kiosk, store, rid, shot):
    kiosk.wait_screen("welcome")
    kiosk.click("welcome.staff")
    kiosk.wait_screen("staff-login")
    for digit in PIN:
        kiosk.click("staff.key." + digit)
    kiosk.click("staff.login")
    kiosk.wait_screen("staff")
    kiosk.click("staff.filter.awaiting-review")
    kiosk.wait(lambda m: m and "staff.record." + rid in m["rects"], 5, "the awaiting-review filter to list %s" % rid)
    shot(kiosk, "01-awaiting-review")
    kiosk.click("staff.record." + rid)
    m = kiosk.wait_screen("staff-record")
    for name in ("staff.reviewer", "staff.comment", "staff.recommend", "staff.return", "staff.not-recommend"):
        kg.check(name in m["rects"], "the review panel has no %s" % name)
    for name in ("staff.recommend", "staff.return", "staff.not-recommend"):
        h = kiosk.rect(name, m)[3]
        kg.check(h >= 40, "%s is %.0f px high, under a touch target" % (name, h))
    shot(kiosk, "02-review-panel")

    kiosk.click("staff.reviewer")
    kiosk.type_text(REVIEWER)
    kiosk.click("staff.not-recommend")  # no reason written: refused, and the notice says why
    kiosk.wait(lambda m: m and "notice" in m["rects"], 5, "the notice that a reason is needed")
    shot(kiosk, "03-not-recommend-needs-a-reason")
    kg.check(awaiting(store) == [rid], "a not-recommend without a reason changed the record")

    kiosk.click("staff.comment")
    kiosk.type_text(COMMENT)
    kiosk.click("staff.return")
    kiosk.wait(lambda m: m and "staff.recommend" not in m["rects"], 5, "the decision panel to close after the return")
    shot(kiosk, "04-returned")
    kiosk.stop()
    kg.check(kiosk.proc.returncode == 0, "the kiosk exited with %s; log:\n%s" % (kiosk.proc.returncode, kiosk.log_tail()))


def check_store(store, rid):
    kg.check([r[0] for r in store.list("returned")] == [rid], "record %s is not returned" % rid)
    shown = store.run("show", rid)
    want = "#1 return by %s" % REVIEWER
    kg.check(want in shown and COMMENT in shown, "`show %s` lacks %r and the comment:\n%s" % (rid, want, shown[-600:]))
    kg.check(awaiting(store) == [], "the returned record still awaits review")
    print("record %s: returned by %s with the comment, from the real kiosk" % (rid, REVIEWER))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--store-cli", required=True)
    ap.add_argument("--artifacts", required=True, help="folder for the PNGs of each step")
    ap.add_argument("--budget", type=int, default=150, help="seconds before the test gives up")
    args = ap.parse_args()
    kg.require_programs("Xvfb", "xdotool")
    kg.deadline(args.budget)
    os.makedirs(args.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kiosk-gui-staff-")
    data_dir = os.path.join(work, "data")

    def shot(kiosk, name):
        kiosk.x11.screenshot(os.path.join(args.artifacts, name + ".png"), kiosk.width, kiosk.height)

    store = kg.StoreCli(args.store_cli, data_dir)
    kiosk = None
    ok = False
    try:
        rid = prepare(store, data_dir)
        with kg.Xvfb() as xvfb:
            x11 = kg.X11()
            try:
                kiosk = kg.Kiosk(args.kiosk, data_dir, work, x11, xvfb.width, xvfb.height).start()
                drive(kiosk, store, rid, shot)
            except kg.TestFailure:
                if kiosk is not None and kiosk.alive():
                    shot(kiosk, "99-failure")
                raise
            finally:
                if kiosk is not None:
                    kiosk.kill()
                x11.close()
        check_store(store, rid)
        ok = True
    except kg.TestFailure as e:
        print("FAIL: %s\n%s" % (e, "".join(traceback.format_tb(e.__traceback__)[-4:])), file=sys.stderr)
        if kiosk is not None:
            print("kiosk log tail:\n" + kiosk.log_tail(), file=sys.stderr)
    finally:
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("scratch folder kept: %s" % work, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
