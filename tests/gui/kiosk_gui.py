"""Drives the real shenbao-kiosk under Xvfb, for the GUI tests and the benchmark.

Python 3 standard library only, plus three programs: Xvfb, xdotool and the
kiosk itself. libX11 (always there where Xvfb is) is used through ctypes for
two things xdotool cannot do well:

* Keyboard layout: xdotool types a character missing from the keymap by
  rebinding a scratch key for each character, which races with the client's
  lazy keymap refresh and garbles Chinese text typed faster than ~150 ms a
  character. `X11.bind_chars` instead binds every character of a string to
  spare keys first (as an input method's layout would), so `xdotool type`
  then finds them all in the keymap and types them fast and reliably; the
  kiosk still gets ordinary key presses and GLFW character events.
* Screenshots: XGetImage of the root window, written as PNG with zlib (no
  ImageMagick needed).

The kiosk is found by its UI map (--ui-map FILE): after each drawn frame it
rewrites {"screen", "frame", "rects": {name: [x, y, w, h]}}; `Kiosk.map()`
reads it and `Kiosk.click(name)` taps the centre of a named widget.

Every child process gets PR_SET_PDEATHSIG, so Xvfb and the kiosk die with the
test even when the test itself is killed (e.g. by a ctest timeout).
"""

import ctypes
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

# ---------------------------------------------------------------- processes

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(args, **kw):
    """Popen that is SIGKILLed when this Python process dies."""
    return subprocess.Popen(args, preexec_fn=_die_with_parent, **kw)


def require_programs(*names):
    missing = [n for n in names if not shutil.which(n)]
    if missing:
        sys.exit("missing program(s): %s -- install them with scripts/install-deps.sh "
                 "(Debian packages: xvfb, xdotool)" % ", ".join(missing))


class TestFailure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)


def deadline(seconds):
    """Raises TestFailure in the main thread after `seconds` (cleanup still runs)."""
    def on_alarm(signum, frame):
        raise TestFailure("test took longer than its %d s budget" % seconds)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(seconds))
    # Stopped from outside (SIGTERM): clean up as on a failure.
    def on_term(signum, frame):
        raise TestFailure("terminated by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)


# ---------------------------------------------------------------- Xvfb

class Xvfb:
    """A private X server; the display number is chosen by Xvfb (-displayfd), so
    parallel tests never collide."""

    def __init__(self, width=1920, height=1080):
        self.width, self.height = width, height
        self.proc = None
        self.display = None

    def __enter__(self):
        r, w = os.pipe()
        self.proc = spawn(["Xvfb", "-displayfd", str(w), "-screen", "0", "%dx%dx24" % (self.width, self.height),
                           "-nolisten", "tcp", "-noreset"], pass_fds=(w,),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        num = b""
        t0 = time.monotonic()
        while not num.endswith(b"\n"):
            chunk = os.read(r, 16)
            if not chunk:
                break
            num += chunk
            if time.monotonic() - t0 > 20:
                break
        os.close(r)
        check(num.strip().isdigit(), "Xvfb did not start (exit code %s)" % self.proc.poll())
        self.display = ":" + num.decode().strip()
        os.environ["DISPLAY"] = self.display
        return self

    def __exit__(self, *exc):
        stop(self.proc)
        return False


def stop(proc, sig=signal.SIGTERM, wait=5.0):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- libX11 via ctypes

class _XImage(ctypes.Structure):
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int),
                ("format", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_ubyte)),
                ("byte_order", ctypes.c_int), ("bitmap_unit", ctypes.c_int),
                ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int), ("depth", ctypes.c_int),
                ("bytes_per_line", ctypes.c_int), ("bits_per_pixel", ctypes.c_int),
                ("red_mask", ctypes.c_ulong), ("green_mask", ctypes.c_ulong), ("blue_mask", ctypes.c_ulong)]


class _XClientMessageEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("l", ctypes.c_long * 5), ("pad", ctypes.c_long * 12)]


class X11:
    """A connection of our own to the display: keymap changes, screenshots, and the
    window manager's close request."""

    def __init__(self):
        x = ctypes.CDLL("libX11.so.6")
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x.XDisplayKeycodes.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
        x.XGetKeyboardMapping.restype = ctypes.POINTER(ctypes.c_ulong)
        x.XGetKeyboardMapping.argtypes = [ctypes.c_void_p, ctypes.c_ubyte, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        x.XChangeKeyboardMapping.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                             ctypes.POINTER(ctypes.c_ulong), ctypes.c_int]
        x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XGetImage.restype = ctypes.POINTER(_XImage)
        x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                                ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        x.XDestroyImage.argtypes = [ctypes.POINTER(_XImage)]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                                 ctypes.POINTER(_XClientMessageEvent)]
        self.x = x
        self.d = x.XOpenDisplay(None)
        check(self.d, "cannot open display %s" % os.environ.get("DISPLAY"))
        lo, hi, per = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        x.XDisplayKeycodes(self.d, ctypes.byref(lo), ctypes.byref(hi))
        n = hi.value - lo.value + 1
        m = x.XGetKeyboardMapping(self.d, lo.value, n, ctypes.byref(per))
        # Spare keys: no symbols at all, or only XF86 media keys. The first few stay
        # empty for xdotool's own scratch key.
        spare = []
        for i in range(n):
            syms = [m[i * per.value + j] for j in range(per.value) if m[i * per.value + j]]
            if not syms or all(0x1008FF00 <= s <= 0x1008FFFF for s in syms):
                spare.append(lo.value + i)
        x.XFree(m)
        self.spare = [k for k in spare if k > 8][4:]
        self.bound = set()

    def close(self):
        if self.d:
            self.x.XCloseDisplay(self.d)
            self.d = None

    def bind_chars(self, text):
        """Binds every non-ASCII character of `text` to a spare key (two per key:
        plain and shifted). Returns True when the keymap changed."""
        chars = sorted(set(c for c in text if ord(c) > 126))
        if not chars or set(chars) <= self.bound:
            return False
        check(len(chars) <= 2 * len(self.spare), "too many distinct characters to bind at once: %d" % len(chars))
        for i in range(0, len(chars), 2):
            pair = [0x1000000 + ord(c) for c in chars[i:i + 2]]
            pair += [0] * (2 - len(pair))
            arr = (ctypes.c_ulong * 2)(*pair)
            self.x.XChangeKeyboardMapping(self.d, self.spare[i // 2], 2, arr, 1)
        self.x.XSync(self.d, 0)
        self.bound = set(chars)
        return True

    def close_window(self, window):
        """Asks the window to close (WM_DELETE_WINDOW), as a window manager's close button does."""
        ev = _XClientMessageEvent()
        ev.type = 33  # ClientMessage
        ev.window = window
        ev.message_type = self.x.XInternAtom(self.d, b"WM_PROTOCOLS", 0)
        ev.format = 32
        ev.l[0] = self.x.XInternAtom(self.d, b"WM_DELETE_WINDOW", 0)
        ev.l[1] = 0  # CurrentTime
        self.x.XSendEvent(self.d, window, 0, 0, ctypes.byref(ev))
        self.x.XSync(self.d, 0)

    def screenshot(self, path, width, height):
        """Writes the root window as an RGB PNG."""
        root = self.x.XDefaultRootWindow(self.d)
        img = self.x.XGetImage(self.d, root, 0, 0, width, height, 0xFFFFFFFF, 2)  # ZPixmap
        check(img, "XGetImage failed")
        im = img.contents
        check(im.bits_per_pixel == 32, "unexpected %d bits per pixel" % im.bits_per_pixel)
        raw = ctypes.string_at(im.data, im.bytes_per_line * height)
        bpl = im.bytes_per_line
        self.x.XDestroyImage(img)
        rgb = bytearray(width * height * 3)
        pixels = b"".join(raw[y * bpl:y * bpl + width * 4] for y in range(height))
        rgb[0::3] = pixels[2::4]  # little-endian BGRX
        rgb[1::3] = pixels[1::4]
        rgb[2::3] = pixels[0::4]
        row = width * 3
        body = b"".join(b"\x00" + bytes(rgb[y * row:(y + 1) * row]) for y in range(height))

        def chunk(tag, data):
            c = struct.pack(">I", len(data)) + tag + data
            return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(body, 6)) + chunk(b"IEND", b""))
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(png)
        os.replace(tmp, path)
        return rgb


def xdotool(*args):
    r = subprocess.run(["xdotool"] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 0, "xdotool %s failed: %s" % (" ".join(map(str, args)), r.stderr.decode(errors="replace")))
    return r.stdout.decode()


# ---------------------------------------------------------------- the kiosk

def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class Kiosk:
    """The real kiosk binary in a window filling the Xvfb screen, with its UI map."""

    # Scroll targets keep this far from the edges of a scrolled body (px).
    MARGIN = 90

    def __init__(self, binary, data_dir, work_dir, x11, width=1920, height=1080, extra_args=()):
        self.binary, self.data_dir, self.work_dir, self.x11 = binary, data_dir, work_dir, x11
        self.width, self.height = width, height
        self.map_path = os.path.join(work_dir, "ui-map.json")
        self.log_path = os.path.join(work_dir, "kiosk.log")
        self.extra_args = list(extra_args)
        self.proc = None
        self.started_at = None
        self.origin = (0, 0)

    def start(self):
        if os.path.exists(self.map_path):
            os.unlink(self.map_path)
        self.log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.proc = spawn([self.binary, "--data-dir", self.data_dir, "--window", "%dx%d" % (self.width, self.height),
                           "--ui-map", self.map_path] + self.extra_args, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait(lambda m: m is not None, 20, "the kiosk's first frame")
        self.window = int(xdotool("search", "--sync", "--pid", self.proc.pid).split()[0])
        geo = xdotool("getwindowgeometry", "--shell", self.window)
        vals = dict(line.split("=", 1) for line in geo.split())
        self.origin = (int(vals["X"]), int(vals["Y"]))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Closes the window like a user would (flushes pending saves), then waits."""
        if self.alive():
            self.x11.close_window(self.window)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                stop(self.proc)
        self.close_log()

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self.close_log()

    def close_log(self):
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def log_tail(self, n=2000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    # -- reading the map

    def map(self):
        return read_json(self.map_path)

    def wait(self, pred, timeout, what):
        t0 = time.monotonic()
        while True:
            check(self.alive(), "the kiosk exited (code %s) while waiting for %s; log:\n%s"
                  % (self.proc.poll(), what, self.log_tail()))
            m = self.map()
            if pred(m):
                return m
            if time.monotonic() - t0 > timeout:
                raise TestFailure("timed out after %.0f s waiting for %s; last map: screen=%s frame=%s"
                                  % (timeout, what, m and m.get("screen"), m and m.get("frame")))
            time.sleep(0.01)

    def settle(self, timeout=10, quiet=0.15):
        """Waits until the kiosk has drawn a frame that saw the input sent before this
        call: two more frames, or one more and then nothing for `quiet` seconds (the
        kiosk draws two frames per input, fewer when the input came in the last one)."""
        f0 = (self.map() or {}).get("frame", 0)
        m = self.wait(lambda m: m and m["frame"] >= f0 + 1, timeout, "a frame")
        if m["frame"] >= f0 + 2:
            return m
        t0 = time.monotonic()
        while time.monotonic() - t0 < quiet:
            m2 = self.map() or m
            if m2["frame"] >= f0 + 2:
                return m2
            time.sleep(0.005)
        return self.map() or m

    def wait_screen(self, screen, timeout=10):
        return self.wait(lambda m: m and m["screen"] == screen, timeout, "screen %r" % screen)

    def rect(self, name, m=None):
        m = m or self.map()
        r = m["rects"].get(name) if m else None
        check(r is not None, "no widget %r on screen %r (have: %s)"
              % (name, m and m["screen"], ", ".join(sorted(m["rects"]))[:1500] if m else "no map"))
        return r

    # -- input

    def move(self, x, y):
        """Moves the pointer; returns once the kiosk has drawn a frame that saw it."""
        pos = (int(self.origin[0] + x), int(self.origin[1] + y))
        if pos == getattr(self, "_pointer", None):
            return
        xdotool("mousemove", "--sync", *pos)
        self._pointer = pos
        self.settle()

    def button(self, action, button=1):
        """mousedown / mouseup, returning once a frame has seen it."""
        xdotool(action, button)
        self.settle()

    def tap_at(self, x, y):
        """A finger tap: press and release on one spot, in separate frames (Dear
        ImGui 1.86 reads button state per frame)."""
        self.move(x, y)
        self.button("mousedown")
        self.button("mouseup")

    def click(self, name):
        self.scroll_into_view(name)
        x, y, w, h = self.rect(name)
        self.tap_at(x + w / 2, y + min(h / 2, 24))

    def key(self, keysym):
        """A key held across a frame (1.86 reads key state per frame, so a key pressed
        and released between two frames would be lost)."""
        xdotool("keydown", keysym)
        self.settle()
        xdotool("keyup", keysym)
        self.settle()

    def type_text(self, text, delay_ms=12):
        """Types `text` into the focused widget as key presses (newlines as Return)."""
        # The kiosk gets the keymap change before the keys (X events arrive in order).
        self.x11.bind_chars(text)
        for i, part in enumerate(text.split("\n")):
            if i:
                self.key("Return")
            if part:
                xdotool("type", "--delay", delay_ms, part)
        self.settle()

    def go_to_section(self, index, tries=40):
        """From the section shown to section `index` with 下一节 / 上一节 (a section list entry
        may be below the list's fold)."""
        for _ in range(tries):
            cur = int(self.map()["labels"]["section"])
            if cur == index:
                return
            self.click("form.next" if index > cur else "form.prev")
            self.wait(lambda m: m and m["screen"] == "form" and int(m["labels"]["section"]) != cur, 10, "another section")
        raise TestFailure("could not reach section %d" % index)

    # -- the staff screen

    def staff_sign_in(self, pin, keypad=True):
        """From Welcome to the staff screen: the PIN tapped on the sign-in keypad (a
        touchscreen), or typed into its field (a physical keyboard)."""
        self.wait_screen("welcome")
        self.click("welcome.staff")
        self.wait_screen("staff-login")
        if keypad:
            for digit in pin:
                self.click("staff.key." + digit)
        else:
            self.click("staff.pin")
            self.type_text(pin)
        self.click("staff.login")
        self.wait_screen("staff")

    # -- scrolling (form section body)

    def body_bounds(self, m):
        """(top, bottom) of the visible part of the form's section body."""
        body = self.rect("section-body", m)
        top = body[1]
        bottom = self.rect("form.prev", m)[1] - 12  # the body ends one item spacing above the buttons
        return body, top, bottom

    def drag(self, x, y0, y1, steps=8):
        """Drags a finger from (x, y0) to (x, y1)."""
        self.move(x, y0)
        self.button("mousedown")
        for i in range(1, steps + 1):
            self.move(x, y0 + (y1 - y0) * i / steps)
        self.button("mouseup")

    @staticmethod
    def in_section_body(name):
        return name.startswith("field.") or name.endswith(".add") or "=" in name or "[" in name

    def scroll_into_view(self, name, tries=12):
        m = self.map()
        if m["screen"] != "form" or not self.in_section_body(name):
            return
        for _ in range(tries):
            m = self.map()
            body, top, bottom = self.body_bounds(m)
            x, y, w, h = self.rect(name, m)
            if y >= top + 8 and y + min(h, 120) <= bottom - 8:
                return
            # Drag the body so the widget lands a margin below its top.
            want = top + self.MARGIN
            delta = y - want  # >0: content must move up
            span = (bottom - top) - 2 * 40
            step = max(-span, min(span, delta))
            drag_x = body[0] + 8  # the body's padding: never a widget
            if step > 0:
                self.drag(drag_x, bottom - 40, bottom - 40 - step)
            else:
                self.drag(drag_x, top + 40, top + 40 - step)
        raise TestFailure("could not scroll %r into view" % name)


# ---------------------------------------------------------------- the store

class StoreCli:
    def __init__(self, binary, data_dir):
        self.binary, self.data_dir = binary, data_dir

    def run(self, *args, stdin=None):
        try:
            r = subprocess.run([self.binary, "--data-dir", self.data_dir] + list(args),
                               input=stdin.encode() if stdin is not None else None,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            raise TestFailure("cannot run %s: %s" % (self.binary, e))
        check(r.returncode == 0, "shenbao-store %s failed (%d): %s"
              % (" ".join(args), r.returncode, r.stderr.decode(errors="replace")))
        return r.stdout.decode()

    def list(self, status=None):
        """[(id, status)] of the records."""
        out = self.run("list", *(["--status", status] if status else []))
        rows = []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and len(parts[0]) == 26:
                rows.append((parts[0], parts[1]))
        return rows

    def set_staff_pin(self, pin):
        """The kiosk's staff PIN, as `shenbao-store staff-pin` sets it (read from stdin)."""
        self.run("staff-pin", stdin=pin + "\n")

    def show(self, record_id):
        return json.loads(self.run("show", record_id, "--json"))


# -- one test's frame: a real kiosk in a fresh Xvfb, failure evidence, the scratch folder

STAFF_PIN = "13579"  # what the GUI tests set with `shenbao-store staff-pin`


def fresh_artifacts(folder):
    """Creates the artifacts folder and removes the PNGs an earlier run left there."""
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".png"):
            os.unlink(os.path.join(folder, name))


def screenshot_to(artifacts):
    """shot(kiosk, name): a PNG of the kiosk's window as <artifacts>/<name>.png."""
    def shot(kiosk, name):
        kiosk.x11.screenshot(os.path.join(artifacts, name + ".png"), kiosk.width, kiosk.height)
    return shot


def touch_target(kiosk):
    """The kiosk's minimum touch target in px at its window height (Ui::target in kiosk/main.cpp)."""
    return 56.0 * max(0.72, kiosk.height / 1080.0)


def shot_after_frame(artifacts, kiosk):
    """shot(name): waits for the frame after the last tap (the screen shows its result), then
    saves <artifacts>/<name>.png; shot.artifacts is the folder."""
    png = screenshot_to(artifacts)

    def shot(name):
        time.sleep(0.4)
        png(kiosk, name)
    shot.artifacts = artifacts
    return shot


def with_kiosk(binary, data_dir, work, artifacts, drive, extra_args=(), size=(1920, 1080)):
    """Runs drive(kiosk) against the real kiosk in a fresh Xvfb of `size`. On a TestFailure it
    saves <artifacts>/99-failure.png as the screen was and prints the kiosk's log tail
    before passing the failure on; the kiosk and the X server are gone afterwards."""
    kiosk = None
    with Xvfb(*size) as xvfb:
        x11 = X11()
        try:
            kiosk = Kiosk(binary, data_dir, work, x11, xvfb.width, xvfb.height, extra_args=extra_args).start()
            drive(kiosk)
        except TestFailure:
            if kiosk is not None and kiosk.alive():
                screenshot_to(artifacts)(kiosk, "99-failure")
            if kiosk is not None:
                print("kiosk log tail:\n" + kiosk.log_tail(), file=sys.stderr)
            raise
        finally:
            if kiosk is not None:
                kiosk.kill()
            x11.close()


def run_bench(name, main, prefix):
    """A benchmark's __main__: runs main(work) with a scratch folder that is removed
    afterwards, whatever happens; a TestFailure means it could not measure (exit 1)."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        return main(work)
    except TestFailure as e:
        print("%s could not measure: %s" % (name, e), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_test(work, body, keep=False):
    """Runs body(); a TestFailure is printed with where it happened. The scratch folder
    goes on success (unless `keep`) and is kept (and named) on failure. Returns the exit code."""
    ok = False
    try:
        body()
        ok = True
    except TestFailure as e:
        print("FAIL: %s\n%s" % (e, "".join(traceback.format_tb(e.__traceback__)[-4:])), file=sys.stderr)
    finally:
        if ok and not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("scratch data kept in %s" % work, file=sys.stderr)
    return 0 if ok else 1
