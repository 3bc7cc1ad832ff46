#!/usr/bin/env python3
"""kiosk.gui.fill_and_submit: an applicant fills in and submits an application on the
real kiosk, and the store then holds it, submitted, with exactly what was typed.

Starts Xvfb and shenbao-kiosk on a fresh data folder, and drives it like a finger and
a keyboard would (xdotool taps, drags and key presses, aimed with the kiosk's UI map):
new application -> every required field of every section (required table columns in
min_rows rows, choices by tapping their option buttons) -> review (must list no issue)
-> commitment (承诺) -> submit -> receipt -> done. After each section the store must
already hold what was typed in it (moving on saves). Then it closes the kiosk (the
window manager's close request) and checks with shenbao-store that the record is
submitted, listed by `list --status submitted`, and its data is exactly the values
below (plus the confirmed commitment). Before each field it taps the section body's
blank margin, leaving the previous field first (see tests/gui/README.md).

A PNG of every screen visited is written to --artifacts.

Run: ctest -R kiosk.gui.fill_and_submit --output-on-failure   (from the build folder), or
  tests/gui/fill_and_submit.py --kiosk build/dev/kiosk/shenbao-kiosk \\
      --store-cli build/dev/tools/shenbao-store --form assets/forms/alliance-2022.json \\
      --artifacts build/dev/artifacts/kiosk-gui
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiosk_gui as kg  # noqa: E402

# What the applicant types: every required field of alliance-2022 (values that pass
# every rule: members_city_total is the sum of the counts, granted <= applied,
# lead_staff_rd <= lead_staff_total, alliance_rd_staff >= 30, lead_address in 重庆).
# Tables: one dict per row (required columns only); choices: the option value tapped.
VALUES = {
    # 一、基本信息表
    "alliance_name": "重庆市智能网联汽车产业技术创新联盟",
    "chairman_name": "王建国",
    "chairman_unit": "重庆长安汽车股份有限公司",
    "secretary_unit": "重庆邮电大学",
    "office_address": "重庆市两江新区金渝大道85号",
    "contact_name": "李晓梅",
    "contact_phone": "13983456721",
    "tech_field": "智能网联汽车",
    "alliance_funding": "1200.50",
    "alliance_rd_staff": "356",
    "alliance_goals": "围绕智能网联汽车关键技术开展联合攻关。\n建设共性技术研发平台，推动成果转化。",
    # 二、牵头单位信息
    "lead_name": "重庆长安汽车股份有限公司",
    "lead_head_name": "张伟",
    "lead_head_phone": "023-67594008",
    "lead_contact_name": "刘洋",
    "lead_contact_phone": "023-67594120",
    "lead_contact_mobile": "13896012345",
    "lead_address": "重庆市江北区建新东路260号",
    "lead_postal_code": "400023",
    "lead_email": "liuyang@changan.com.cn",
    "lead_output_value": "125800.00",
    "lead_revenue": "118600.50",
    "lead_export": "2350.00",
    "lead_tax": "8620.30",
    "lead_profit": "5230.75",
    "lead_rd_last_year": "6800.00",
    "lead_rd_3y": "18500.00",
    "lead_staff_total": "3200",
    "lead_staff_rd": "860",
    "lead_staff_senior": "120",
    "lead_staff_phd": "35",
    "lead_staff_master": "410",
    "lead_staff_bachelor": "1250",
    "lead_coop_projects_3y": "18",
    "lead_coop_funds_3y": "2360.00",
    "lead_coop_universities_count": "6",
    "lead_invention_applied": "45",
    "lead_invention_granted": "28",
    "lead_utility_applied": "60",
    "lead_utility_granted": "52",
    "lead_design_applied": "12",
    "lead_design_granted": "9",
    # 三、联盟成员信息
    "members_city_total": "12",
    "members_enterprise_count": "7",
    "members_university_count": "3",
    "members_research_count": "2",
    "members_outside_total": "4",
    # 联盟科技创新平台情况
    "platforms_national": "2",
    "platforms_city": "5",
    # 联盟理事会组成单位及人员 (two rows: rows are added and filled one after the other)
    "council": [
        {"name": "王建国", "role": "理事长", "unit": "重庆长安汽车股份有限公司"},
        {"name": "陈静", "role": "秘书长", "unit": "重庆邮电大学"},
    ],
    # 主要成员情况表（企业）
    "main_members_enterprise": [
        {"unit_name": "重庆长安汽车股份有限公司", "address": "重庆市江北区建新东路260号",
         "phone": "023-67594008", "contact": "刘洋", "nature": "joint_stock"},
    ],
    # 主要成员情况表（科研机构、高校、服务机构）
    "main_members_academic": [
        {"unit_name": "重庆邮电大学", "address": "重庆市南岸区崇文路2号",
         "phone": "023-62461032", "contact": "陈静", "nature": "university"},
    ],
    # 四、审核意见表 (the commitment itself is confirmed on the commitment screen)
    "lead_signatory": "张伟",
    "lead_sign_date": "2022-05-30",
    # 建设运行报告
    "report_importance": "智能网联汽车是重庆支柱产业转型升级的关键方向，组建联盟有利于整合创新资源。",
    "report_organization": "联盟设理事会、秘书处和专家委员会，秘书处设在重庆邮电大学。",
    "report_cooperation_model": "联盟采取项目合作、平台共建和人才互派相结合的合作模式。",
    "report_daily_management": "秘书处负责日常事务，每季度召开一次工作会议。",
    "report_ip_sharing": "共有知识产权按投入比例分享，成果转化收益按协议分配。",
    "report_funding": "经费来源于成员单位会费和项目经费，专款专用，接受审计。",
    "report_task_frontier": "开展车路协同和自动驾驶前瞻技术研究，每年发布技术路线图。",
    "report_activities": "近三年联合开展关键技术攻关十二项，举办技术交流会九次。",
    "report_achievements": "近三年联盟成员共获授权发明专利二十八项，制定团体标准三项。",
}

CHOICE_TYPES = ("choice", "multi_choice")


def required_plan(form):
    """[(section index, section id, [field])] of the required, applicant-filled fields,
    checked against VALUES so a new required field fails here with its name."""
    plan, missing = [], []
    for i, s in enumerate(form["sections"]):
        fields = []
        for f in s["fields"]:
            if f.get("filled_by", "applicant") != "applicant" or "visible_if" in f:
                continue
            if f["type"] == "commitment":
                continue  # confirmed on the commitment screen
            if f["type"] == "table":
                if not f.get("required") and not f.get("min_rows"):
                    continue
                rows = VALUES.get(f["id"], [])
                if len(rows) < max(1, f.get("min_rows", 0)):
                    missing.append("%s: needs %d row(s)" % (f["id"], f.get("min_rows", 1)))
                for r, row in enumerate(rows):
                    for c in f["columns"]:
                        if c.get("required") and "visible_if" not in c and c["id"] not in row:
                            missing.append("%s[%d].%s" % (f["id"], r, c["id"]))
                fields.append(f)
            elif f.get("required"):
                if f["id"] not in VALUES:
                    missing.append(f["id"])
                fields.append(f)
        plan.append((i, s["id"], fields))
    kg.check(not missing, "the test has no value for these required fields: " + ", ".join(missing))
    return plan


def leave_field(kiosk):
    """Taps the section body's blank margin: the focused field is left (saved, and
    its inline issues updated) before the next tap is aimed."""
    body, top, bottom = kiosk.body_bounds(kiosk.map())
    kiosk.tap_at(body[0] + 8, top + 40)


def fill_scalar(kiosk, path, ftype, value):
    # Leaving a field can add or remove inline issue lines above the next one in the
    # very frame of the tap, so a tap aimed before would miss (tests/gui/README.md).
    leave_field(kiosk)
    if ftype in CHOICE_TYPES:
        kiosk.click("%s=%s" % (path, value))
        return
    kiosk.click("field." + path)
    kiosk.type_text(value)


def fill_section(kiosk, fields):
    for f in fields:
        if f["type"] == "table":
            rows = VALUES[f["id"]]
            for r, row in enumerate(rows):
                row_there = "%s[%d].remove" % (f["id"], r)
                if row_there not in kiosk.map()["rects"]:
                    # Leaving the last cell of the row above can drop its row issue
                    # line in the tap's frame, moving the add button under the finger.
                    leave_field(kiosk)
                    kiosk.click(f["id"] + ".add")
                    kiosk.wait(lambda m: row_there in m["rects"], 10, "row %d of %s" % (r, f["id"]))
                cols = {c["id"]: c for c in f["columns"]}
                for cid, value in row.items():
                    fill_scalar(kiosk, "%s[%d].%s" % (f["id"], r, cid), cols[cid]["type"], value)
        else:
            fill_scalar(kiosk, f["id"], f["type"], VALUES[f["id"]])
    leave_field(kiosk)  # saved at once


def expected_record():
    exp = {k: v for k, v in VALUES.items()}
    exp["lead_commitment"] = True
    return exp


def normalized(data):
    """Drops unfilled values ("" / null / [] / {}), recursively in table rows."""
    if isinstance(data, dict):
        return {k: normalized(v) for k, v in data.items() if v not in ("", None, [], {})}
    if isinstance(data, list):
        return [normalized(v) for v in data]
    return data


def diff(expected, actual):
    lines = []
    for k in sorted(set(expected) | set(actual)):
        if expected.get(k) != actual.get(k):
            lines.append("  %s: typed %s, stored %s" % (k, json.dumps(expected.get(k), ensure_ascii=False),
                                                       json.dumps(actual.get(k), ensure_ascii=False)))
    return "\n".join(lines)


def drive(kiosk, store, plan, shot, t0):
    """The applicant's whole visit, from Welcome back to Welcome. After each section
    the store must already hold what was typed in it (moving on saves)."""
    kiosk.wait_screen("welcome")
    shot(kiosk, "01-welcome")
    kiosk.click("welcome.new")
    kiosk.wait_screen("form")
    records = store.list()
    kg.check(len(records) == 1, "starting an application should create one draft, found %s" % records)
    rid = records[0][0]
    for i, sid, fields in plan:
        first = "field." + fields[0]["id"] if fields[0]["type"] != "table" else fields[0]["id"] + ".add"
        kiosk.wait(lambda m: m["screen"] == "form" and first in m["rects"], 10, "section %d (%s)" % (i, sid))
        fill_section(kiosk, fields)
        name = "%02d-section-%02d-%s" % (i + 2, i, sid)
        shot(kiosk, name)
        kiosk.click("form.next")
        stored = normalized(store.show(rid)["data"])
        typed = {f["id"]: VALUES[f["id"]] for f in fields}
        bad = diff(typed, {k: stored.get(k) for k in typed if k in stored})
        kg.check(not bad, "section %d (%s): the store does not hold what was typed (see %s.png):\n%s"
                 % (i, sid, name, bad))
        print("section %2d %-20s filled and saved (%.0f s)" % (i, sid, time.monotonic() - t0), flush=True)
    kiosk.wait_screen("review")
    m = kiosk.map()
    shot(kiosk, "14-review")
    issues = sorted(k for k in m["rects"] if k.startswith("issue."))
    kg.check(not issues, "the review lists %d issue(s) after filling every required field; see 14-review.png"
             % len(issues))
    kiosk.click("review.submit")
    kiosk.wait_screen("commitment")
    kiosk.click("commit.confirm")
    shot(kiosk, "15-commitment")
    kiosk.click("commit.submit")
    m = kiosk.wait_screen("receipt")
    shot(kiosk, "16-receipt")
    kg.check("receipt.reference" in m["rects"] and "receipt.qr" in m["rects"], "receipt without reference or QR code")
    kiosk.click("receipt.done")
    kiosk.wait_screen("welcome")
    shot(kiosk, "17-welcome-after")
    kiosk.stop()
    kg.check(kiosk.proc.returncode == 0, "the kiosk exited with %s; log:\n%s" % (kiosk.proc.returncode, kiosk.log_tail()))


def check_store(store):
    records = store.list()
    kg.check(len(records) == 1, "expected one record in the store, found %s" % records)
    rid, status = records[0]
    kg.check(status == "submitted", "record %s is %s, not submitted" % (rid, status))
    kg.check([r[0] for r in store.list("submitted")] == [rid], "`list --status submitted` does not show %s" % rid)
    rec = store.show(rid)
    kg.check(rec.get("status") == "submitted", "show %s: status %s" % (rid, rec.get("status")))
    stored, expected = normalized(rec["data"]), expected_record()
    kg.check(stored == expected, "record %s does not hold exactly what was typed:\n%s" % (rid, diff(expected, stored)))
    print("record %s: submitted, listed, and holds exactly the %d values typed" % (rid, len(expected)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--store-cli", required=True)
    ap.add_argument("--form", required=True, help="the form definition the kiosk uses (alliance-2022.json)")
    ap.add_argument("--artifacts", required=True, help="folder for the PNGs of each screen")
    ap.add_argument("--budget", type=int, default=240, help="seconds before the test gives up")
    ap.add_argument("--keep", action="store_true", help="keep the scratch data folder")
    args = ap.parse_args()
    kg.require_programs("Xvfb", "xdotool")
    kg.deadline(args.budget)
    with open(args.form, encoding="utf-8") as f:
        form = json.load(f)
    plan = required_plan(form)
    kg.fresh_artifacts(args.artifacts)
    work = tempfile.mkdtemp(prefix="kiosk-gui-fill-")
    data_dir = os.path.join(work, "data")
    t0 = time.monotonic()
    shots = []
    png = kg.screenshot_to(args.artifacts)

    def shot(kiosk, name):
        png(kiosk, name)
        shots.append(name)

    store = kg.StoreCli(args.store_cli, data_dir)

    def body():
        kg.with_kiosk(args.kiosk, data_dir, work, args.artifacts, lambda kiosk: drive(kiosk, store, plan, shot, t0))
        check_store(store)
        print("%d screenshots in %s (%.0f s)" % (len(shots), args.artifacts, time.monotonic() - t0))

    return kg.run_test(work, body, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
