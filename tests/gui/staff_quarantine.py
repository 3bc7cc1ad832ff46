#!/usr/bin/env python3
"""Quarantined records on the real kiosk's staff screen under Xvfb: sign in, open 同步状态,
find the record the commission refused with the commission's reason, tap 修正后重新发送,
and check the store has it back as submitted. Saves a PNG of the tab before and after.

The refusal is written into the store with the sqlcipher shell (a quarantine row, the
record queued, as Store::apply_receipt leaves it; schema at the top of shared/src/store.cpp):
a real sync producing one is covered by test_sync_e2e, this test is about what staff see."""

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiosk_gui as kg  # noqa: E402

check = kg.check
REASON = "lead_phone: 电话号码格式不正确 / is not a phone number"


def quarantine(data_dir, record_id):
    key = open(os.path.join(data_dir, "store.key")).read().strip()
    sql = """PRAGMA key = "x'%s'";
PRAGMA cipher_page_size = 4096;
BEGIN;
UPDATE records SET status = 'queued' WHERE id = '%s';
INSERT INTO quarantine(record_id, batch_id, result, reason, at_ms) VALUES('%s', '01M8KMZZZZZZZZZZZZZZZZZZZZ', 'invalid', '%s', 1764400000000);
COMMIT;
""" % (key, record_id, record_id, REASON)
    r = subprocess.run(["sqlcipher", os.path.join(data_dir, "store.db")], input=sql, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    check(r.returncode == 0 and "Error" not in r.stdout, "sqlcipher: " + r.stdout)


def drive(kiosk, store, record_id, shot):
    kiosk.staff_sign_in(kg.STAFF_PIN, keypad=False)  # typed, as with a physical keyboard (staff_review taps it)
    kiosk.move(5, 1000)  # Dear ImGui lays a new tab bar out over two frames: click where it settled
    kiosk.click("staff.tab.sync")
    kiosk.wait(lambda m: m and "staff.quarantine." + record_id in m["rects"], 10, "the quarantined record")
    shot(kiosk, "01-sync-tab-quarantined")
    kiosk.click("staff.release." + record_id)
    kiosk.move(5, 1000)  # the kiosk draws only on input: a pointer move gets a fresh frame
    check("staff.quarantine." + record_id not in kiosk.map()["rects"], "the released record is still listed")
    check("notice" in kiosk.map()["rects"], "no notice says the record goes again")
    shot(kiosk, "02-sync-tab-released")
    submitted = [row[0] for row in store.list("submitted")]
    check(record_id in submitted, "the released record is not submitted again: %s" % submitted)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--store-cli", required=True)
    ap.add_argument("--artifacts", required=True, help="folder for the PNGs")
    ap.add_argument("--budget", type=int, default=150, help="seconds before the test gives up")
    args = ap.parse_args()
    kg.require_programs("Xvfb", "xdotool", "sqlcipher")
    kg.deadline(args.budget)
    kg.fresh_artifacts(args.artifacts)
    work = tempfile.mkdtemp(prefix="kiosk-gui-quarantine-")
    data_dir = os.path.join(work, "data")
    store = kg.StoreCli(args.store_cli, data_dir)

    def body():
        store.run("init")
        store.run("generate", "-n", "3", "--seed", "9")
        store.set_staff_pin(kg.STAFF_PIN)
        record_id = store.list("submitted")[1][0]
        quarantine(data_dir, record_id)
        check(record_id not in [row[0] for row in store.list("submitted")], "the fixture did not queue the record")
        shot = kg.screenshot_to(args.artifacts)
        kg.with_kiosk(args.kiosk, data_dir, work, args.artifacts, lambda kiosk: drive(kiosk, store, record_id, shot))
        print("staff quarantine: listed with its reason, released; screens in %s" % args.artifacts)

    return kg.run_test(work, body)


if __name__ == "__main__":
    sys.exit(main())
