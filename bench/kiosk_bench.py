#!/usr/bin/env python3
"""kiosk_bench: shenbao-kiosk under Xvfb (Mesa llvmpipe) against an empty Dear ImGui +
GLFW window measured in the same run, with the targets of the kiosk issue.

How to run (from the repository root, after building both programs):

    cmake --build build/dev --target shenbao-kiosk empty_imgui_window
    bench/kiosk_bench.py --kiosk build/dev/kiosk/shenbao-kiosk \\
        --empty build/dev/bench/empty_imgui_window

Needs Xvfb and xdotool (scripts/debian-packages.txt); starts and stops its own Xvfb.
About 1 minute. Prints every figure beside the baseline and the target; asserts nothing
(exit 1 only when it could not measure). --quick is the tiny configuration ctest runs
(bench.kiosk.smoke) so the benchmark cannot rot.

What is measured, the same way for both programs:
  time to first frame  launch -> first UI-map write (written after the first buffer
                       swap); median of --launches launches, the kiosk's first launch on
                       a fresh data folder (it creates the store and its key) shown apart.
  resident memory      VmRSS (/proc/PID/status). Kiosk: after starting an application
                       and drawing every section once (section list, else "Next").
                       Baseline: after its first frames.
  idle CPU             utime+stime (/proc/PID/stat) over --idle-seconds without input,
                       both programs at once; the kiosk on the form with no field
                       focused, then again with a text field focused (caret shown).
  frame time           while a finger drags the longest section (most content) up and
                       down: an xdotool chain moves the pointer every ~8 ms, faster than
                       frames come, so the interval between consecutive UI-map writes
                       is the time the kiosk takes per frame (input, layout, llvmpipe
                       drawing, swap). Worst and median. Baseline: the same drag on the
                       empty window. A per-frame draw-time log in the kiosk
                       (--frame-log) would measure this without the poller.
  long report          the form's first multi-line field with a 20,000-character limit:
                       a paste of 19,500 characters (its frame's duration, from the
                       kiosk's own "frame_ms" in the UI map, X clipboard transfer
                       included; and the time until a frame shows it), then frame times (as above) while an xdotool chain types
                       Latin letters and digits every ~8 ms at the end and in the middle
                       of the text (each key re-wraps all of it), and while a finger
                       drags the text inside the field; resident memory afterwards.
                       Baseline: the same typing chain and drag on the empty window;
                       and, in the kiosk, the same typing into a one-line text field
                       (the on-screen keyboard open in both), which shows what the
                       long text itself costs.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "tests", "gui"))
import kiosk_gui as kg  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
FRAME_RE = re.compile(rb'"frame":(\d+)')


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def frame_of(path):
    try:
        with open(path, "rb") as f:
            m = FRAME_RE.search(f.read())
        return int(m.group(1)) if m else None
    except OSError:
        return None


class App:
    """A program that writes a UI map (the kiosk or the baseline window)."""

    def __init__(self, name, args, map_path, log_path):
        self.name, self.args, self.map_path, self.log_path = name, args, map_path, log_path
        self.proc = None

    def launch(self):
        """Starts it; returns seconds from launch to the first UI-map write."""
        if os.path.exists(self.map_path):
            os.unlink(self.map_path)
        log = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = kg.spawn(self.args + ["--ui-map", self.map_path], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        while not os.path.exists(self.map_path):
            kg.check(self.proc.poll() is None, "%s exited (%s) before its first frame" % (self.name, self.proc.poll()))
            kg.check(time.monotonic() - t0 < 30, "%s: no first frame after 30 s" % self.name)
            time.sleep(0.001)
        return time.monotonic() - t0

    def stop(self):
        kg.stop(self.proc)


def frame_times_while(proc_to_wait, map_path, skip_start=0.45, skip_end=0.2):
    """Polls map_path every ~1 ms until proc_to_wait (an xdotool drag chain) exits;
    returns the intervals (ms) between consecutive frames while the finger moves: the
    chain's first 0.3 s (press, pauses) and its last 0.15 s are skipped, with margin."""
    seen = []
    last = None
    t_start = time.monotonic()
    while proc_to_wait.poll() is None:
        f = frame_of(map_path)
        if f is not None and f != last:
            seen.append((time.monotonic(), f))
            last = f
        time.sleep(0.0008)
    t_end = time.monotonic()
    ivals = []
    for (ta, fa), (tb, fb) in zip(seen, seen[1:]):
        if ta >= t_start + skip_start and tb <= t_end - skip_end and fb > fa:
            ivals.append((tb - ta) * 1000 / (fb - fa))
    return ivals, len(seen)


def drag_chain(x, y_from, y_to, step_px=12, pause_s=0.008):
    """xdotool arguments for a finger drag from y_from to y_to."""
    args = ["mousemove", str(x), str(y_from), "sleep", "0.15", "mousedown", "1", "sleep", "0.15"]
    n = max(1, abs(y_to - y_from) // step_px)
    for i in range(1, n + 1):
        args += ["mousemove", str(x), str(y_from + (y_to - y_from) * i // n), "sleep", str(pause_s)]
    return args + ["sleep", "0.15", "mouseup", "1"]


def run_drag(app_map, x, y_from, y_to, step_px=12):
    proc = kg.spawn(["xdotool"] + drag_chain(x, y_from, y_to, step_px))
    ivals, frames = frame_times_while(proc, app_map)
    return ivals, frames


def pct(vals, p):
    if not vals:
        return float("nan")
    s = sorted(vals)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def type_chain(text, delay_ms=8):
    """xdotool arguments that type `text` (ASCII) a key every `delay_ms`, after a 0.5 s pause
    (`type` takes every argument after it as text, so it comes last)."""
    return ["sleep", "0.5", "type", "--delay", str(delay_ms), text]


def typing_frame_times(map_path, text):
    """Frame intervals (ms) while xdotool types `text`, faster than frames come."""
    return frame_times_while(kg.spawn(["xdotool"] + type_chain(text)), map_path, skip_start=0.55, skip_end=0.02)[0]


def long_report(kiosk, empty, form_path, chars=19500, typed=160):
    """The long-report figures (see the module's docstring)."""
    import json
    import report_editor  # tests/gui: finds the report field in the form definition
    keys = ("report2026 " * (typed // 11 + 1))[:typed]
    # Reference in the kiosk itself: the same typing into the form's first one-line text field.
    with open(form_path, encoding="utf-8") as f:
        one = next((i, fl["id"]) for i, sec in enumerate(json.load(f)["sections"]) for fl in sec["fields"]
                   if fl["type"] == "text")
    kiosk.go_to_section(one[0])
    kiosk.click("field." + one[1])
    kiosk.wait(lambda m: m and "kbd" in m["rects"], 30, "the keyboard")
    k_line = typing_frame_times(kiosk.map_path, keys)
    section, fid = report_editor.report_field(form_path, 20000)
    kiosk.go_to_section(section)
    field = "field." + fid
    kiosk.click(field)
    report_editor.wait_editor(kiosk, fid, lambda e: e["editing"] == 1, "the report field being edited")
    with open(os.path.join(HERE, "..", "tests", "data", "text", "report_800.txt"), encoding="utf-8") as f:
        para = f.read().strip()
    text = (para * (chars // len(para) + 1))[:chars]
    clip = kg.spawn(["xclip", "-selection", "clipboard", "-i"], stdin=subprocess.PIPE)
    clip.stdin.write(text.encode())
    clip.stdin.close()
    time.sleep(0.3)
    try:
        t0 = time.monotonic()
        # Ctrl+V held across frames (ImGui 1.86 reads keys per frame). The kiosk's UI map says
        # how long each frame took: the longest until the text shows is the paste's frame
        # (the X clipboard transfer included).
        chain = kg.spawn(["xdotool", "keydown", "ctrl+v", "sleep", "0.3", "keyup", "ctrl+v"])
        frame_ms, last = [], None
        while True:
            m = kg.read_json(kiosk.map_path)
            if m and m["frame"] != last:
                last = m["frame"]
                frame_ms.append(m.get("frame_ms", float("nan")))
                if chain.poll() is not None and report_editor.editor_state(kiosk, fid, m)["caret"] == chars:
                    break
            kg.check(time.monotonic() - t0 < 60, "the pasted report did not show within 60 s")
            time.sleep(0.001)
        paste_s = time.monotonic() - t0
        paste_frame = max(frame_ms)
    finally:
        kg.stop(clip)
    k_type = typing_frame_times(kiosk.map_path, keys)
    x, y, w, h = kiosk.rect(field)
    kiosk.tap_at(x + w * 0.5, y + h * 0.5)  # the middle of the text: every key re-wraps what follows
    k_type += typing_frame_times(kiosk.map_path, keys)
    e = report_editor.editor_state(kiosk, fid)
    x, y, w, h = kiosk.rect(field)
    # Owned by the field from the press on, the finger may run past its edge: ~400 px each way.
    drags = ((y + h - 20, max(20, y + h - 420)), (max(20, y + h - 420), y + h - 20))
    k_drag = [v for a, b in drags for v in run_drag(kiosk.map_path, int(x + w / 2), int(a), int(b), step_px=4)[0]]
    rss = rss_kb(kiosk.proc.pid)
    empty_window = kg.xdotool("search", "--sync", "--pid", empty.proc.pid).split()[0]
    kg.xdotool("windowraise", empty_window)
    kg.xdotool("windowfocus", "--sync", empty_window)  # keys go to the focused window
    time.sleep(0.3)
    e_type = typing_frame_times(empty.map_path, keys) + typing_frame_times(empty.map_path, keys)
    e_drag = [v for a, b in drags for v in run_drag(empty.map_path, int(x + w / 2), int(a), int(b), step_px=4)[0]]
    kg.xdotool("windowraise", kiosk.window)
    kg.xdotool("windowfocus", "--sync", kiosk.window)
    return {"paste_s": paste_s, "paste_frame": paste_frame, "chars": chars, "lines": e["lines"], "type": (k_type, e_type), "drag": (k_drag, e_drag),
            "line": k_line,
            "rss": rss, "typed": 2 * typed}


def visit_sections(kiosk, sections):
    """Draws every section once; returns {index: content height in px}."""
    heights = {}
    for i in range(sections):
        m = kiosk.map()
        name = "section.%d" % i
        r = m["rects"].get(name)
        _, top, bottom = kiosk.body_bounds(m)
        if i > 0:
            if r and r[1] >= top and r[1] + r[3] <= bottom:
                kiosk.tap_at(r[0] + r[2] / 2, r[1] + r[3] / 2)  # in the section list
            kiosk.go_to_section(i)  # below the list's fold: 下一节
        m = kiosk.map()
        ys = [(v[1], v[1] + v[3]) for k, v in m["rects"].items() if kg.Kiosk.in_section_body(k)]
        heights[i] = (max(b for a, b in ys) - min(a for a, b in ys)) if ys else 0
    return heights


def main(work):
    ap = argparse.ArgumentParser(description="shenbao-kiosk against an empty ImGui window, under Xvfb")
    ap.add_argument("--kiosk", required=True)
    ap.add_argument("--empty", required=True, help="the empty_imgui_window baseline program")
    ap.add_argument("--launches", type=int, default=3, help="launches for the time to first frame")
    ap.add_argument("--idle-seconds", type=float, default=10.0)
    ap.add_argument("--sections", type=int, default=12, help="sections of the form to draw (alliance-2022: 12)")
    ap.add_argument("--form", default=os.path.join(HERE, "..", "assets", "forms", "alliance-2022.json"),
                    help="the form definition the kiosk shows (for the long-report field)")
    ap.add_argument("--quick", action="store_true", help="tiny configuration for the smoke test")
    args = ap.parse_args()
    if args.quick:
        args.launches, args.idle_seconds = 1, 1.0
    kg.require_programs("Xvfb", "xdotool", "xclip")
    kg.deadline(400)
    data_dir = os.path.join(work, "data")
    res = {}
    with kg.Xvfb() as xvfb:
        x11 = kg.X11()
        size = "%dx%d" % (xvfb.width, xvfb.height)
        empty = App("empty window", [args.empty, "--window", size], os.path.join(work, "empty-map.json"),
                    os.path.join(work, "empty.log"))
        kiosk_app = App("kiosk", [args.kiosk, "--data-dir", data_dir, "--window", size],
                        os.path.join(work, "kiosk-map.json"), os.path.join(work, "kiosk.log"))
        kiosk = None
        try:
            # -- time to first frame
            k_first, k_times, e_times = None, [], []
            for i in range(args.launches):
                for app, times in ((empty, e_times), (kiosk_app, k_times)):
                    t = app.launch()
                    time.sleep(0.3)
                    app.stop()
                    if app is kiosk_app and i == 0:
                        k_first = t
                    times.append(t)
            k_warm = k_times[1:] or k_times
            res["first"] = (statistics.median(k_warm), statistics.median(e_times), k_first)

            # -- both running: memory, idle CPU, scrolling
            empty.launch()
            kiosk = kg.Kiosk(args.kiosk, data_dir, work, x11, xvfb.width, xvfb.height)
            kiosk.map_path = kiosk_app.map_path
            kiosk.start()
            kiosk.click("welcome.new")
            kiosk.wait_screen("form")
            heights = visit_sections(kiosk, args.sections)
            time.sleep(0.5)
            res["rss"] = (rss_kb(kiosk.proc.pid), rss_kb(empty.proc.pid))

            def idle_cpu():
                a0, b0 = cpu_ticks(kiosk.proc.pid), cpu_ticks(empty.proc.pid)
                f0 = frame_of(kiosk.map_path)
                t0 = time.monotonic()
                time.sleep(args.idle_seconds)
                dt = time.monotonic() - t0
                a1, b1 = cpu_ticks(kiosk.proc.pid), cpu_ticks(empty.proc.pid)
                frames = frame_of(kiosk.map_path) - f0
                return (100.0 * (a1 - a0) / CLK_TCK / dt, 100.0 * (b1 - b0) / CLK_TCK / dt, frames)

            # The longest section, no field focused (tap the body's blank margin).
            longest = max(heights, key=heights.get)
            kiosk.go_to_section(longest)
            m = kiosk.map()
            body, top, bottom = kiosk.body_bounds(m)
            kiosk.tap_at(body[0] + 8, top + 40)
            time.sleep(0.3)
            res["idle"] = idle_cpu()
            # Idle with a text field focused (caret shown).
            first_field = min((v[1], k) for k, v in m["rects"].items() if k.startswith("field."))[1]
            kiosk.click(first_field)
            time.sleep(0.3)
            res["idle_focused"] = idle_cpu()
            kiosk.tap_at(body[0] + 8, top + 40)

            # -- frame times while drag-scrolling the longest section, and the baseline
            m = kiosk.map()
            probe = min((v[1], k) for k, v in m["rects"].items() if k.startswith("field."))[1]
            y_before = m["rects"][probe][1]
            drag_x = int(body[0] + 8)
            span = int(min(900, bottom - top - 100))
            # Up (content moves up), then back down; a field's position shows it scrolled.
            k_ivals, k_frames = run_drag(kiosk.map_path, drag_x, int(bottom - 40), int(bottom - 40 - span))
            time.sleep(0.3)
            y_mid = kiosk.map()["rects"][probe][1]
            ivals, frames = run_drag(kiosk.map_path, drag_x, int(top + 40), int(top + 40 + span))
            k_ivals, k_frames = k_ivals + ivals, k_frames + frames
            e_ivals, e_frames = [], 0
            # Both windows sit at (0, 0): bring the baseline on top for its drags.
            kg.xdotool("windowraise", kg.xdotool("search", "--sync", "--pid", empty.proc.pid).split()[0])
            time.sleep(0.3)
            for y_from, y_to in ((bottom - 40, bottom - 40 - span), (top + 40, top + 40 + span)):
                ivals, frames = run_drag(empty.map_path, drag_x, int(y_from), int(y_to))
                e_ivals, e_frames = e_ivals + ivals, e_frames + frames
            res["scroll"] = (k_ivals, e_ivals, heights[longest], longest, k_frames, e_frames, y_before, y_mid, span)
            kg.xdotool("windowraise", kiosk.window)
            time.sleep(0.3)
            res["report"] = long_report(kiosk, empty, args.form, chars=2000 if args.quick else 19500,
                                        typed=60 if args.quick else 160)
        finally:
            if kiosk is not None:
                kiosk.kill()
            empty.stop()
            kiosk_app.stop()
            x11.close()

    # -- report
    kf, ef, kfirst = res["first"]
    krss, erss = res["rss"]
    ki, ei, kframes = res["idle"]
    kif, eif, kfframes = res["idle_focused"]
    k_ivals, e_ivals, height, longest, k_frames, e_frames, y0, y1, span = res["scroll"]
    kw, ew = (max(k_ivals) if k_ivals else float("nan")), (max(e_ivals) if e_ivals else float("nan"))

    def verdict(ok):
        return "meets target" if ok else "MISSES target"

    rows = [
        ("time to first frame (median)", "%.3f s" % kf, "%.3f s" % ef, "%+.3f s" % (kf - ef), "<= 1 s",
         verdict(kf <= 1.0)),
        ("  kiosk's first run (creates store)", "%.3f s" % kfirst, "", "", "<= 1 s", verdict(kfirst <= 1.0)),
        ("resident memory, all sections drawn", "%.1f MB" % (krss / 1024), "%.1f MB" % (erss / 1024),
         "%+.1f MB" % ((krss - erss) / 1024), "<= +40 MB", verdict(krss - erss <= 40 * 1024)),
        ("idle CPU over %.0f s, no field focused" % args.idle_seconds, "%.2f %%" % ki, "%.2f %%" % ei,
         "%+.2f %%" % (ki - ei), "< 1 %", verdict(ki < 1.0) + " (%d frames)" % kframes),
        ("idle CPU, a text field focused", "%.2f %%" % kif, "%.2f %%" % eif, "%+.2f %%" % (kif - eif), "< 1 %",
         verdict(kif < 1.0) + " (%d frames)" % kfframes),
        ("worst frame, drag-scrolling", "%.1f ms" % kw, "%.1f ms" % ew, "%+.1f ms" % (kw - ew), "<= 50 ms",
         verdict(kw <= 50)),
        ("  median frame, drag-scrolling", "%.1f ms" % pct(k_ivals, 50), "%.1f ms" % pct(e_ivals, 50),
         "%+.1f ms" % (pct(k_ivals, 50) - pct(e_ivals, 50)), "", ""),
        ("  p95 frame, drag-scrolling", "%.1f ms" % pct(k_ivals, 95), "%.1f ms" % pct(e_ivals, 95),
         "%+.1f ms" % (pct(k_ivals, 95) - pct(e_ivals, 95)), "", ""),
    ]
    rep = res["report"]
    (kt, et), (kd, ed) = rep["type"], rep["drag"]
    worst = lambda v: max(v) if v else float("nan")  # noqa: E731
    rows += [
        ("paste of %s characters: its frame" % "{:,}".format(rep["chars"]), "%.1f ms" % rep["paste_frame"], "", "",
         "<= 100 ms", verdict(rep["paste_frame"] <= 100) + " (X clipboard transfer included; %d lines; shown %.0f ms"
         " after the key)" % (rep["lines"], rep["paste_s"] * 1000)),
        ("worst frame, typing in the long report", "%.1f ms" % worst(kt), "%.1f ms" % worst(et),
         "%+.1f ms" % (worst(kt) - worst(et)), "<= 50 ms", verdict(worst(kt) <= 50) + " (%d frames)" % len(kt)),
        ("  median frame, typing", "%.1f ms" % pct(kt, 50), "%.1f ms" % pct(et, 50),
         "%+.1f ms" % (pct(kt, 50) - pct(et, 50)), "", ""),
        ("  kiosk reference: a one-line field", "%.1f ms" % worst(rep["line"]), "", "", "",
         "worst; median %.1f ms (%d frames): the same typing, keyboard open" % (pct(rep["line"], 50), len(rep["line"]))),
        ("worst frame, dragging the report's text", "%.1f ms" % worst(kd), "%.1f ms" % worst(ed),
         "%+.1f ms" % (worst(kd) - worst(ed)), "<= 50 ms", verdict(worst(kd) <= 50) + " (%d frames)" % len(kd)),
        ("resident memory, after the long report", "%.1f MB" % (rep["rss"] / 1024), "%.1f MB" % (erss / 1024),
         "%+.1f MB" % ((rep["rss"] - erss) / 1024), "<= +40 MB", verdict(rep["rss"] - erss <= 40 * 1024)),
    ]
    print("kiosk_bench: shenbao-kiosk vs empty Dear ImGui window, Xvfb %s, %d cores, llvmpipe"
          % ("1920x1080", os.cpu_count()))
    print("%-40s %12s %14s %14s %10s  %s" % ("figure", "kiosk", "empty window", "kiosk - empty", "target", ""))
    for r in rows:
        print("%-40s %12s %14s %14s %10s  %s" % r)
    print("scrolled section %d (content %.0f px): a %d px drag moved it %.0f px; %d / %d frames seen "
          "while dragging (kiosk / empty window)" % (longest, height, span, y0 - y1, k_frames, e_frames))
    return 0


if __name__ == "__main__":
    sys.exit(kg.run_bench("kiosk_bench", main, "kiosk-bench-"))
