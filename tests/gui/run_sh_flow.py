#!/usr/bin/env python3
"""kiosk.gui.run_sh_flow: the main job's whole flow. `scripts/run.sh` (build skipped:
SHENBAO_RUN_SKIP_BUILD=1) under a private Xvfb with a scratch data folder starts the
demonstration commission (shenbao-intake on loopback), the agent and the kiosk; an
applicant fills in and submits an application through the GUI driver (the values and
section filling of fill_and_submit.py); staff recommend it (`shenbao-store review`,
as at the command line); the record arrives at the local intake (`shenbao-intake
export`), the store shows it synced, and the staff screen's sync tab shows it with
the commission's receipt for its batch, which lists the record (screenshot).
Closing the kiosk ends run.sh, and every process it started is gone.

PNGs go to --artifacts (sync tab: 05-staff-sync-synced.png).

Run: ctest -R kiosk.gui.run_sh_flow --output-on-failure   (from the build folder), or
  tests/gui/run_sh_flow.py --run-sh scripts/run.sh --store-cli build/release/tools/shenbao-store \\
      --intake build/release/intake/shenbao-intake --form assets/forms/alliance-2022.json \\
      --artifacts build/release/artifacts/run-sh
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
import fill_and_submit as fs  # noqa: E402


def descendants(pid):
    """{pid: comm} of every process below `pid`."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parent[int(d)] = (ppid, comm)
    found, frontier = {}, [pid]
    while frontier:
        p = frontier.pop()
        for c, (pp, comm) in parent.items():
            if pp == p and c not in found:
                found[c] = comm
                frontier.append(c)
    return found


class RunShKiosk(kg.Kiosk):
    """The kiosk as scripts/run.sh starts it: self.proc is run.sh, the window the kiosk's."""

    def __init__(self, run_sh, data_dir, work_dir, x11, width, height):
        super().__init__(run_sh, data_dir, work_dir, x11, width, height)
        self.started = {}  # pid -> comm of what run.sh started

    def start(self):
        self.log = open(self.log_path, "ab")
        env = dict(os.environ, SHENBAO_DATA_DIR=self.data_dir, SHENBAO_RUN_SKIP_BUILD="1")
        self.proc = kg.spawn([self.binary, "--window", "%dx%d" % (self.width, self.height), "--ui-map", self.map_path],
                             stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.wait(lambda m: m is not None, 60, "the kiosk's first frame (run.sh starts the intake first)")
        kiosk_pid = None
        for _ in range(100):
            self.started = descendants(self.proc.pid)
            kiosk_pid = next((p for p, c in self.started.items() if c == "shenbao-kiosk"), None)
            if kiosk_pid and "shenbao-intake" in self.started.values():
                break
            time.sleep(0.1)
        kg.check(kiosk_pid is not None, "run.sh started no shenbao-kiosk: %s" % self.started)
        kg.check("shenbao-intake" in self.started.values(), "run.sh started no shenbao-intake: %s" % self.started)
        self.window = int(kg.xdotool("search", "--sync", "--pid", kiosk_pid).split()[0])
        geo = kg.xdotool("getwindowgeometry", "--shell", self.window)
        vals = dict(line.split("=", 1) for line in geo.split())
        self.origin = (int(vals["X"]), int(vals["Y"]))
        return self


def submit_application(kiosk, plan, shot):
    """Welcome -> every required field -> review -> commitment -> receipt -> Welcome; the record id."""
    kiosk.wait_screen("welcome")
    shot(kiosk, "01-welcome")
    kiosk.click("welcome.new")
    kiosk.wait_screen("form")
    t0 = time.monotonic()
    for i, sid, fields in plan:
        first = "field." + fields[0]["id"] if fields[0]["type"] != "table" else fields[0]["id"] + ".add"
        kiosk.wait(lambda m: m["screen"] == "form" and first in m["rects"], 10, "section %d (%s)" % (i, sid))
        fs.fill_section(kiosk, fields)
        shot(kiosk, "02-section-%02d-%s" % (i, sid))  # as fill_and_submit.py does, before moving on
        kiosk.click("form.next")
        print("section %2d %-20s filled (%.0f s)" % (i, sid, time.monotonic() - t0), flush=True)
    kiosk.wait_screen("review")
    m = kiosk.map()
    issues = sorted(k for k in m["rects"] if k.startswith("issue."))
    kg.check(not issues, "the review lists %d issue(s) after filling every required field" % len(issues))
    kiosk.click("review.submit")
    kiosk.wait_screen("commitment")
    kiosk.click("commit.confirm")
    kiosk.click("commit.submit")
    kiosk.wait_screen("receipt")
    shot(kiosk, "03-receipt")
    kiosk.click("receipt.done")
    kiosk.wait_screen("welcome")


def intake_ids(intake, commission_dir, work):
    out = os.path.join(work, "intake-export.json")
    r = subprocess.run([intake, "--data-dir", commission_dir, "export", "--format", "json", "--out", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kg.check(r.returncode == 0, "shenbao-intake export failed: %s" % r.stderr.decode(errors="replace"))
    with open(out, encoding="utf-8") as f:
        return [rec["id"] for rec in json.load(f)]


def wait_for(pred, seconds, what):
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > seconds:
            raise kg.TestFailure("waited %d s for %s" % (seconds, what))
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-sh", required=True)
    ap.add_argument("--store-cli", required=True)
    ap.add_argument("--intake", required=True)
    ap.add_argument("--form", required=True, help="alliance-2022.json")
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--budget", type=int, default=400, help="seconds before the test gives up")
    ap.add_argument("--keep", action="store_true", help="keep the scratch data folder")
    args = ap.parse_args()
    kg.require_programs("Xvfb", "xdotool", "openssl")
    kg.deadline(args.budget)
    with open(args.form, encoding="utf-8") as f:
        plan = fs.required_plan(json.load(f))
    kg.fresh_artifacts(args.artifacts)
    work = tempfile.mkdtemp(prefix="kiosk-gui-run-sh-")
    data_dir = os.path.join(work, "data")
    commission = os.path.join(data_dir, "demo", "intake")
    shot = kg.screenshot_to(args.artifacts)
    store = kg.StoreCli(args.store_cli, data_dir)

    def body():
        kiosk = None
        with kg.Xvfb() as xvfb:
            x11 = kg.X11()
            try:
                kiosk = RunShKiosk(os.path.abspath(args.run_sh), data_dir, work, x11, xvfb.width, xvfb.height).start()
                submit_application(kiosk, plan, shot)
                rows = store.list("submitted")
                kg.check(len(rows) == 1, "expected one submitted record, found %s" % rows)
                rid = rows[0][0]
                kg.check(rid not in intake_ids(args.intake, commission, work), "sent before the review")
                store.run("review", rid, "--decision", "recommend", "--reviewer", "李娜")
                wait_for(lambda: rid in intake_ids(args.intake, commission, work), 120,
                         "record %s at the demonstration intake (agent log: %s)"
                         % (rid, os.path.join(data_dir, "demo", "sync.log")))
                print("record %s arrived at the local intake" % rid)
                wait_for(lambda: [r[0] for r in store.list("synced")] == [rid], 60, "the store to mark %s synced" % rid)
                kiosk.staff_sign_in(kg.STAFF_PIN)  # run.sh's first-run PIN
                shot(kiosk, "04-staff-records")
                kiosk.click("staff.tab.sync")
                kiosk.settle()
                m = kiosk.wait(lambda m: m and "staff.sync" in m["rects"] and "staff.receipt" in m["rects"], 10,
                               "the sync tab with the commission's receipt")
                kg.check(rid in m.get("labels", {}).get("staff.receipt.records", ""),
                         "the sync tab's receipt does not list %s: %r" % (rid, m.get("labels", {}).get("staff.receipt.records")))
                shot(kiosk, "05-staff-sync-synced")
                started = dict(kiosk.started)
                kiosk.stop()  # closing the kiosk ends run.sh
                kg.check(kiosk.proc.returncode == 0, "run.sh exited with %s; log:\n%s"
                         % (kiosk.proc.returncode, kiosk.log_tail()))
                left = [("%d %s" % (p, c)) for p, c in started.items() if os.path.exists("/proc/%d" % p)
                        and open("/proc/%d/stat" % p).read().find("(%s)" % c) >= 0]
                kg.check(not left, "still running after run.sh exited: %s" % left)
                print("run.sh exited 0; everything it started (%s) is gone" % ", ".join(sorted(set(started.values()))))
            except kg.TestFailure:
                if kiosk is not None and kiosk.alive():
                    shot(kiosk, "99-failure")
                if kiosk is not None:
                    print("run.sh log tail:\n" + kiosk.log_tail(), file=sys.stderr)
                raise
            finally:
                if kiosk is not None and kiosk.alive():
                    kg.stop(kiosk.proc)  # SIGTERM: run.sh's trap stops what it started
                    kiosk.close_log()
                x11.close()

    return kg.run_test(work, body, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
