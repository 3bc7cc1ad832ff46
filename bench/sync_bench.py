#!/usr/bin/env python3
"""sync_bench: the sync issue's benchmark. Prints each figure beside a baseline
measured in the same run, and the target; asserts nothing (exit 1 only when it could
not measure).

How to run (from the repository root, after `cmake --build --preset release`):

    bench/sync_bench.py --build build/release            # everything, ~12 minutes
    bench/sync_bench.py --build build/release --part link    # only the poor link
    bench/sync_bench.py --build build/release --quick        # tiny; what ctest runs

Parts:
  link    500 generated applications over an emulated poor link (bench/shaping_proxy.py:
          --rate-kbit 256 each way, --rtt-ms 300, every connection reset at random
          about once a minute), delivered two ways:
            (a) baseline: one HTTPS POST per record, gzip'd JSON, on a keep-alive
                connection; a failed record is sent again from the start after 1 s
                (how OpenRosa/ODK-style clients send). The server is a small Python
                HTTPS server that stores each record id.
            (b) shenbao-sync run-once (default configuration) to a real shenbao-intake.
          Bytes on the wire = TCP payload both ways through the link (TLS included).
          Link use = bytes sent up / (rate x wall time). Goodput = payload delivered
          once (a: the gzip bodies of the records; b: the sealed batch files) / (rate x
          wall time).
  ingest  shenbao-intake's ingest rate on loopback, no shaping: records (and MB of
          JSON) / time the intake spent committing batches (from its log), sent by
          shenbao-sync, at two sizes: 1,000 generated applications (~100 KB of JSON
          each) and 5,000 with their free texts cut to 200 characters (~28 KB);
          baseline for each: the same records' JSON inserted into a plain SQLite
          table by Python's sqlite3 in one transaction, WAL + synchronous=FULL like
          the intake (the floor of any store). The 5,000 records/s target is judged
          per size; at full size even the floor is below it.
  memory  shenbao-sync's peak resident memory (ru_maxrss) syncing a 100,000-record
          backlog to a real intake on loopback; baseline: the same agent syncing a
          1,000-record backlog (full batches already). The backlog's applications are short (generated, then
          their long free texts cut to 200 characters) so the store is built in
          minutes; the agent's memory does not depend on the backlog's size if it
          streams, which is what this shows.
"""

import argparse
import gzip
import http.client
import http.server
import json
import os
import resource
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REVIEWER = "基准审核员"  # the agent sends only reviewed applications: these are all recommended


def die(msg):
    print("sync_bench: " + msg, file=sys.stderr)
    sys.exit(1)


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        die("%s failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stdout))
    return r.stdout


class Tools:
    def __init__(self, build):
        self.store = os.path.join(build, "tools", "shenbao-store")
        self.sync = os.path.join(build, "sync", "shenbao-sync")
        self.intake = os.path.join(build, "intake", "shenbao-intake")
        for p in (self.store, self.sync, self.intake):
            if not os.access(p, os.X_OK):
                die("%s is missing: build first (cmake --build --preset release)" % p)


def make_ca(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sh = ("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 "
          "-subj '/CN=sync_bench CA' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key "
          "-out server.csr -subj '/CN=127.0.0.1' && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
          "-CAcreateserial -out server.pem -days 2 -extfile ext.cnf")
    run(["sh", "-c", sh], cwd=d)
    return os.path.join(d, "ca.pem"), os.path.join(d, "server.pem"), os.path.join(d, "server.key")


class Proc:
    """A child whose stdout we read until a line starting with `prefix`."""

    def __init__(self, cmd, prefix, log):
        self.log = open(log, "w")
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            if line.startswith(prefix):
                self.rest = line[len(prefix):].strip()
                return
        die("%s did not start (see %s)" % (cmd[0], log))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


class Intake:
    def __init__(self, tools, root, certs):
        self.tools = tools
        self.dir = os.path.join(root, "intake")
        os.makedirs(self.dir)
        self.keys = {}
        for line in run([tools.intake, "--data-dir", self.dir, "keygen"]).splitlines():
            for name in ("commission", "receipt"):
                if line.startswith(name + "_public_key = "):
                    self.keys[name] = line.split(" = ")[1].strip()
        if len(self.keys) != 2:
            die("shenbao-intake keygen did not print the two public keys")
        self.proc = Proc([tools.intake, "--data-dir", self.dir, "serve", "--listen", "127.0.0.1:0", "--cert", certs[1],
                          "--key", certs[2]], "shenbao-intake listening on https://127.0.0.1:", os.path.join(root, "intake.log"))
        self.port = int(self.proc.rest)
        self.log_path = os.path.join(root, "intake.log")

    def enrol(self, kiosk_id):
        run([self.tools.intake, "--data-dir", self.dir, "enrol", "--kiosk-key", kiosk_id, "--district", "渝中区"])

    def count(self):
        out = os.path.join(self.dir, "export.json")
        run([self.tools.intake, "--data-dir", self.dir, "export", "--format", "json", "--out", out])
        ids = set()
        n = 0
        with open(out) as f:
            for line in f:
                if line.startswith("{"):
                    n += 1
                    ids.add(json.loads(line.split(',"data":')[0] + "}")["id"])
        return n, len(ids)

    def commit_ms(self):
        """Sum of commit times and records from the intake's per-batch log lines."""
        total_ms, records = 0.0, 0
        with open(self.log_path) as f:
            for line in f:
                if ": batch " in line and " records: " in line and " ms: decode" in line:
                    records += int(line.split("…: ")[1].split(" records")[0])
                    total_ms += float(line.split(" (")[1].split(" ms")[0])
        return total_ms, records


def make_kiosk(tools, root, n, short=False):
    d = os.path.join(root, "kiosk")
    os.makedirs(d)
    run([tools.store, "--data-dir", d, "init"])
    if short:
        distinct = min(n, 1000)
        run([tools.store, "--data-dir", d, "generate", "-n", str(distinct), "--seed", "1", "--short-texts",
             "--recommend-as", REVIEWER])
        if n > distinct:
            multiply_backlog(d, n // distinct)
    else:
        run([tools.store, "--data-dir", d, "generate", "-n", str(n), "--seed", "1", "--recommend-as", REVIEWER])
    ident = run([tools.sync, "identity", "--create", "--file", os.path.join(d, "kiosk.identity")]).strip().splitlines()[-1]
    return d, ident.strip()


def multiply_backlog(d, copies):
    """Copies every submitted record `copies - 1` more times under new ids, in one
    transaction, with the sqlcipher shell: generating 100,000 applications one by one
    through the store (three durable transactions each) would take most of an hour.
    The copies keep their data, content hash and review (recommended: only reviewed
    records are sent); the intake accepts them (ids differ). They have no audit
    entries, which the agent does not need. Schema: the table at the
    top of shared/src/store.cpp."""
    key = open(os.path.join(d, "store.key")).read().strip()
    new_id = "substr(r.id, 1, 10) || printf('%04d%012d', k.i, r.rowid)"
    sql = """PRAGMA key = "x'%s'";
PRAGMA cipher_page_size = 4096;
BEGIN;
CREATE TEMP TABLE k(i INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) INSERT INTO k SELECT i FROM n;
INSERT INTO record_fields(record_id, field_id, value, updated_ms)
  SELECT %s, f.field_id, f.value, f.updated_ms FROM records r, k JOIN record_fields f ON f.record_id = r.id
  WHERE r.status = 'submitted';
INSERT INTO reviews(record_id, seq, decision, comment, reviewer, at_ms, content_hash, snapshot)
  SELECT %s, v.seq, v.decision, v.comment, v.reviewer, v.at_ms, v.content_hash, v.snapshot
  FROM records r, k JOIN reviews v ON v.record_id = r.id WHERE r.status = 'submitted';
INSERT INTO records(id, form_id, form_version, status, created_ms, updated_ms, submitted_ms, content_hash)
  SELECT %s, r.form_id, r.form_version, r.status, r.created_ms, r.updated_ms, r.submitted_ms, r.content_hash
  FROM records r, k WHERE r.status = 'submitted';
COMMIT;
SELECT count(*) FROM records;
""" % (key, copies - 1, new_id, new_id, new_id)
    out = subprocess.run(["sqlcipher", os.path.join(d, "store.db")], input=sql, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if out.returncode != 0 or "Error" in out.stdout:
        die("multiplying the backlog with the sqlcipher shell failed:\n" + out.stdout)


def sync_config(path, kiosk_dir, port, ca, keys, extra=None):
    c = {"intake_url": "https://127.0.0.1:%d" % port, "ca_file": ca, "commission_public_key": keys["commission"],
         "receipt_public_key": keys["receipt"], "data_dir": kiosk_dir}
    c.update(extra or {})
    with open(path, "w") as f:
        json.dump(c, f, indent=2)


# [SECTION] The baseline server and client (ODK-style: one POST per record)

class BaselineHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received = {}
    lock = threading.Lock()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if len(body) != n:
            return
        rec = json.loads(gzip.decompress(body))
        with self.lock:
            self.received[rec["id"]] = self.received.get(rec["id"], 0) + 1
        reply = json.dumps({"id": rec["id"], "status": "received"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass


def baseline_server(certs):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BaselineHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs[1], certs[2])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def baseline_send(records, port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    conn = None
    payload = 0
    failures = 0
    for rec in records:
        body = gzip.compress(json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode())
        while True:
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
                conn.request("POST", "/submission", body=body, headers={
                    "Content-Type": "application/json", "Content-Encoding": "gzip"})
                r = conn.getresponse()
                r.read()
                if r.status == 201:
                    payload += len(body)
                    break
                raise OSError("HTTP %d" % r.status)
            except (OSError, http.client.HTTPException):
                failures += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(1.0)
    if conn is not None:
        conn.close()
    return payload, failures


# [SECTION] Parts

def proxy(upstream, args, stats):
    cmd = [sys.executable, os.path.join(HERE, "shaping_proxy.py"), "--upstream", str(upstream), "--rate-kbit",
           str(args.rate_kbit), "--rtt-ms", str(args.rtt_ms), "--cut-mean-s", str(args.cut_mean_s), "--seed",
           str(args.seed), "--stats", stats]
    p = Proc(cmd, "listening ", stats + ".log")
    return p, int(p.rest)


def stop_proxy(p, stats):
    p.stop()
    with open(stats) as f:
        return json.load(f)


def run_agent_over_link(tools, root, args, certs, kiosk, kiosk_id):
    """(b): shenbao-sync run-once (again after a failed pass, as a timer would) through
    the shaping proxy to a real intake. Returns (proxy stats, wall s, sealed bytes
    committed, rows at the intake, unique ids)."""
    intake = Intake(tools, root, certs)
    intake.enrol(kiosk_id)
    keys = intake.keys
    p, port = proxy(intake.port, args, os.path.join(root, "b.stats"))
    cfg = os.path.join(root, "sync.json")
    sync_config(cfg, kiosk, port, certs[0], keys, json.loads(args.agent_config))
    t0 = time.monotonic()
    log = ""
    for _ in range(20):
        r = subprocess.run([tools.sync, "--config", cfg, "run-once"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        log += r.stdout
        if r.returncode == 0:
            break
    wall_b = time.monotonic() - t0
    sb = stop_proxy(p, os.path.join(root, "b.stats"))
    rows, unique = intake.count()
    intake.proc.stop()
    payload_b = sum(int(line.split(" records, ")[1].split(" bytes")[0]) for line in log.splitlines()
                    if " records, " in line and ", committed: " in line)
    with open(os.path.join(root, "sync.log"), "w") as f:
        f.write(log)

    return sb, wall_b, payload_b, rows, unique


def part_link_agent_only(tools, root, args, certs, kiosk, kiosk_id, records, rate):
    sb, wall_b, payload_b, rows, unique = run_agent_over_link(tools, root, args, certs, kiosk, kiosk_id)
    print("\n== poor link, (b) only (--no-baseline: no ratio, no verdict): %d applications, settings %s ==" % (
        len(records), args.agent_config))
    print("wall %.1f s, cuts %d, up %d bytes, link use %.3f, goodput %.3f, payload %d, rows %d (%d unique)" % (
        wall_b, sb["cuts"], sb["bytes_up"], sb["bytes_up"] / (rate * wall_b), payload_b / (rate * wall_b), payload_b,
        rows, unique))


def part_link(tools, root, args):
    certs = make_ca(os.path.join(root, "ca"))
    kiosk, kiosk_id = make_kiosk(tools, root, args.records)
    export = os.path.join(root, "records.json")
    run([tools.store, "--data-dir", kiosk, "export", "--status", "submitted", "--out", export])
    with open(export) as f:
        records = [{k: r[k] for k in ("id", "form_id", "form_version", "content_hash", "data", "submitted_ms")}
                   for r in json.load(f)]
    rate = args.rate_kbit * 1000 / 8

    # (a) the baseline
    if args.no_baseline:
        return part_link_agent_only(tools, root, args, certs, kiosk, kiosk_id, records, rate)
    srv = baseline_server(certs)
    p, port = proxy(srv.server_address[1], args, os.path.join(root, "a.stats"))
    t0 = time.monotonic()
    payload_a, failures_a = baseline_send(records, port, certs[0])
    wall_a = time.monotonic() - t0
    sa = stop_proxy(p, os.path.join(root, "a.stats"))
    srv.shutdown()
    got = BaselineHandler.received
    dup_a = sum(v - 1 for v in got.values())

    # (b) shenbao-sync
    sb, wall_b, payload_b, rows, unique = run_agent_over_link(tools, root, args, certs, kiosk, kiosk_id)

    wire_a = sa["bytes_up"] + sa["bytes_down"]
    wire_b = sb["bytes_up"] + sb["bytes_down"]
    print("\n== poor link: %d applications, %g kbit/s each way, %g ms round trip, a cut every ~%g s ==" % (
        len(records), args.rate_kbit, args.rtt_ms, args.cut_mean_s))
    print("%-34s %16s %16s %10s" % ("", "(a) POST/record", "(b) shenbao-sync", "b / a"))
    print("%-34s %16d %16d %10.3f" % ("bytes on the wire (up + down)", wire_a, wire_b, wire_b / wire_a))
    print("%-34s %16d %16d %10.3f" % ("  of which up", sa["bytes_up"], sb["bytes_up"], sb["bytes_up"] / sa["bytes_up"]))
    print("%-34s %16.1f %16.1f %10.3f" % ("wall time, s", wall_a, wall_b, wall_b / wall_a))
    print("%-34s %16d %16d" % ("connections cut", sa["cuts"], sb["cuts"]))
    print("%-34s %16d %16s" % ("failed attempts (a: records resent)", failures_a, "-"))
    print("%-34s %16.3f %16.3f" % ("link use (up bytes / rate x time)", sa["bytes_up"] / (rate * wall_a),
                                   sb["bytes_up"] / (rate * wall_b)))
    print("%-34s %16.3f %16.3f" % ("goodput / link rate", payload_a / (rate * wall_a), payload_b / (rate * wall_b)))
    print("%-34s %16d %16d" % ("payload delivered once, bytes", payload_a, payload_b))
    print("%-34s %16s %16s" % ("records at the server (unique)", "%d (%d)" % (sum(got.values()), len(got)),
                               "%d (%d)" % (rows, unique)))
    print("targets: (b) bytes <= 0.5 x (a): %s (%.3f); (b) goodput >= 0.85 of the link rate: %s (%.3f)" % (
        "met" if wire_b <= 0.5 * wire_a else "MISSED", wire_b / wire_a,
        "met" if payload_b / (rate * wall_b) >= 0.85 else "MISSED", payload_b / (rate * wall_b)))
    if dup_a:
        print("note: the baseline stored %d records twice (an answer lost after the server stored it)" % dup_a)
    if unique != len(records) or rows != len(records):
        die("shenbao-sync delivered %d rows, %d unique, of %d (log: %s)" % (rows, unique, len(records),
                                                                            os.path.join(root, "sync.log")))


def ingest_one(tools, root, certs, n, short):
    """One size: the intake's commit time for `n` applications sent by shenbao-sync, and
    the plain-SQLite floor for the same records' JSON, measured here and now."""
    d = os.path.join(root, "short" if short else "full")
    os.makedirs(d)
    kiosk, kiosk_id = make_kiosk(tools, d, n, short=short)
    # Exported before the sync: the agent may purge what the intake has confirmed.
    export = os.path.join(d, "records.json")
    run([tools.store, "--data-dir", kiosk, "export", "--status", "submitted", "--out", export])
    with open(export) as f:
        recs = [(r["id"], json.dumps(r["data"], ensure_ascii=False, separators=(",", ":"), sort_keys=True))
                for r in json.load(f)]
    if len(recs) != n:
        die("the kiosk exported %d submitted records, expected %d" % (len(recs), n))
    intake = Intake(tools, d, certs)
    intake.enrol(kiosk_id)
    cfg = os.path.join(d, "sync.json")
    sync_config(cfg, kiosk, intake.port, certs[0], intake.keys)
    run([tools.sync, "--config", cfg, "run-once"])
    intake.proc.stop()
    ms, got = intake.commit_ms()
    if got != n:
        die("the intake logged %d records, expected %d (see %s)" % (got, n, intake.log_path))
    # The floor: the same JSON into a plain SQLite table, one transaction, as durable as the intake's.
    db = sqlite3.connect(os.path.join(d, "plain.db"))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE r(id TEXT PRIMARY KEY, data TEXT)")
    t0 = time.monotonic()
    with db:
        db.executemany("INSERT INTO r VALUES(?,?)", recs)
    floor_s = time.monotonic() - t0
    db.close()
    return {"n": n, "s": ms / 1000, "floor_s": floor_s, "mb": sum(len(t.encode()) for _, t in recs) / 1e6}


def part_ingest(tools, root, args):
    certs = make_ca(os.path.join(root, "ca"))
    full = ingest_one(tools, root, certs, args.ingest_records, short=False)
    short = ingest_one(tools, root, certs, args.ingest_short_records, short=True)
    print("\n== intake ingest on loopback, no shaping: shenbao-intake commit (verify, decrypt, inflate, validate, store) "
          "vs a plain SQLite insert of the same JSON (Python, one transaction, WAL + synchronous=FULL) ==")
    print("%-40s %18s %18s" % ("", "full-size", "short texts"))
    row = lambda label, fmt, f: print("%-40s %18s %18s" % (label, fmt % f(full), fmt % f(short)))
    row("applications", "%d", lambda r: r["n"])
    row("JSON per application, KB", "%.1f", lambda r: r["mb"] * 1000 / r["n"])
    row("shenbao-intake, records/s", "%.0f", lambda r: r["n"] / r["s"])
    row("shenbao-intake, MB/s of JSON", "%.1f", lambda r: r["mb"] / r["s"])
    row("  (commit time, ms)", "%.0f", lambda r: r["s"] * 1000)
    row("baseline: plain SQLite, records/s", "%.0f", lambda r: r["n"] / r["floor_s"])
    row("baseline: plain SQLite, MB/s of JSON", "%.1f", lambda r: r["mb"] / r["floor_s"])
    row("ratio baseline / intake", "%.2fx", lambda r: r["s"] / r["floor_s"])
    verdict = lambda r: ("met" if r["n"] / r["s"] >= 5000 else
                         "MISSED" + (" (floor too)" if r["n"] / r["floor_s"] < 5000 else ""))
    row("target >= 5000 records/s", "%s", verdict)


def agent_peak_kb(tools, root, name, n, certs):
    d = os.path.join(root, name)
    os.makedirs(d)
    kiosk, kiosk_id = make_kiosk(tools, d, n, short=True)
    intake = Intake(tools, d, certs)
    intake.enrol(kiosk_id)
    cfg = os.path.join(d, "sync.json")
    sync_config(cfg, kiosk, intake.port, certs[0], intake.keys)
    t0 = time.monotonic()
    p = subprocess.Popen([tools.sync, "--config", cfg, "run-once"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    secs = time.monotonic() - t0
    rows, unique = intake.count()
    intake.proc.stop()
    if p.returncode != 0 or unique != n:
        die("agent with %d records: exit %d, %d at the intake\n%s" % (n, p.returncode, unique, out[-2000:]))
    store_mb = os.path.getsize(os.path.join(kiosk, "store.db")) / 1e6
    return ru.ru_maxrss, secs, store_mb


def part_memory(tools, root, args):
    certs = make_ca(os.path.join(root, "ca"))
    base_kb, base_s, base_mb = agent_peak_kb(tools, root, "small", args.memory_baseline, certs)
    big_kb, big_s, big_mb = agent_peak_kb(tools, root, "big", args.backlog, certs)
    print("\n== shenbao-sync peak memory (ru_maxrss), backlog synced to a real intake on loopback ==")
    print("%d-record backlog (store %.0f MB): %.1f MB, %.0f s" % (args.backlog, big_mb, big_kb / 1024, big_s))
    print("baseline, %d-record backlog (store %.1f MB): %.1f MB, %.1f s" % (args.memory_baseline, base_mb, base_kb / 1024,
                                                                          base_s))
    print("ratio: %.2fx; target < 64 MB: %s" % (big_kb / base_kb, "met" if big_kb / 1024 < 64 else "MISSED"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/release", help="the CMake build folder")
    ap.add_argument("--part", choices=["link", "ingest", "memory", "all"], default="all")
    ap.add_argument("--records", type=int, default=500)
    ap.add_argument("--rate-kbit", type=float, default=256)
    ap.add_argument("--rtt-ms", type=float, default=300)
    ap.add_argument("--cut-mean-s", type=float, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ingest-records", type=int, default=1000)
    ap.add_argument("--ingest-short-records", type=int, default=5000)
    ap.add_argument("--backlog", type=int, default=100000)
    ap.add_argument("--memory-baseline", type=int, default=1000,
                    help="the baseline backlog: enough for full batches, so the comparison shows whether memory grows "
                         "with the backlog (it must not) rather than with the batch (it may, up to the batch limits)")
    ap.add_argument("--agent-config", default="{}", metavar="JSON",
                    help="link part: settings over shenbao-sync's defaults, e.g. '{\"chunk_bytes\": 131072}' (tuning)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="link part: skip (a), so no ratio and no verdict; for tuning (b) only")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, fast link: checks the benchmark still runs")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    if args.quick:
        args.records, args.rate_kbit, args.rtt_ms, args.cut_mean_s = 12, 4000, 20, 3
        args.ingest_records, args.backlog, args.memory_baseline = 20, 300, 100
        args.ingest_short_records = 20
    tools = Tools(args.build)
    root = tempfile.mkdtemp(prefix="sync_bench.")
    try:
        parts = ["link", "ingest", "memory"] if args.part == "all" else [args.part]
        for part in parts:
            d = os.path.join(root, part)
            os.makedirs(d)
            {"link": part_link, "ingest": part_ingest, "memory": part_memory}[part](tools, d, args)
    finally:
        if args.keep:
            print("work folder kept: " + root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
