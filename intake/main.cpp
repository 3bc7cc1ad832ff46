// shenbao-intake: the commission's receiving server and its command line.
//
//   keygen --out DIR          commission X25519 key pair + Ed25519 receipt key
//   enrol --kiosk-key K --district NAME [--move]
//   districts                 districts with their kiosk and record counts
//   export --format json|csv --out FILE [--form ID] [--bom]
//   export-summary --out FILE.xlsx [--district NAME] [--recommender …] [--contact …] [--phone …]
//   serve --listen HOST:PORT --cert PEM --key PEM [--key-dir DIR]
//
// Exit codes: 0 ok · 1 bad usage · 2 the database or a key file cannot be
// opened · 3 the server cannot start (TLS files, address) · 4 refused: keys
// already exist, or the kiosk is enrolled in another district · 5 any other error.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "intake_db.h"
#include "server.h"
#include "shenbao/crypto.h"
#include "shenbao/form.h"
#include "shenbao/paper.h"
#include "shenbao/receipt.h"
#include "shenbao/store_files.h"

namespace {

using namespace shenbao;
using namespace shenbao::intake;
using nlohmann::json;

enum Exit { kOk = 0, kUsage = 1, kOpen = 2, kStart = 3, kRefused = 4, kOther = 5 };

int fail(const std::string& message, int code) {
    std::cerr << "shenbao-intake: " << message << "\n";
    return code;
}

int fail(const Error& e) {
    switch (e.code) {
        case ErrorCode::Corrupt: case ErrorCode::NotAStore: case ErrorCode::KeyFile: case ErrorCode::UnsupportedVersion:
        case ErrorCode::Io:
            return fail(e.message, kOpen);
        default: return fail(e.message, kOther);
    }
}

// $SHENBAO_INTAKE_DIR, else $XDG_DATA_HOME/shenbao-intake, else ~/.local/share/shenbao-intake.
std::string default_intake_dir() {
    if (const char* d = std::getenv("SHENBAO_INTAKE_DIR"); d && *d) return d;
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/shenbao-intake";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : "/tmp") + "/.local/share/shenbao-intake";
}

Result<std::unique_ptr<IntakeDb>> open_db(const std::string& data_dir) {
    SHENBAO_TRY(ensure_dir(data_dir));
    return IntakeDb::open(data_dir + "/intake.db");
}

int keygen(const std::string& dir) {
    if (auto st = ensure_dir(dir); !st.ok()) return fail(st.error());
    const std::string commission_path = dir + "/commission.key", receipt_path = dir + "/receipt.key";
    for (const std::string& p : {commission_path, receipt_path}) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0)
            return fail(p + " exists; keygen never overwrites keys (kiosks rely on them). Move it away first if you really mean to replace it",
                        kRefused);
    }
    CommissionKeyPair commission = generate_commission_keys();
    ReceiptKeyPair receipt = generate_receipt_keys();
    if (auto st = save_commission_keys(commission_path, commission); !st.ok()) return fail(st.error());
    if (auto st = save_receipt_keys(receipt_path, receipt); !st.ok()) {
        ::unlink(commission_path.c_str());
        return fail(st.error());
    }
    std::printf("# shenbao-intake keys in %s: commission.key and receipt.key are secret (mode 0600); back them up.\n"
                "# A kiosk's configuration needs these two public halves:\n"
                "commission_public_key = %s\n"
                "receipt_public_key = %s\n",
                dir.c_str(), commission.public_key.hex().c_str(), receipt.public_key.hex().c_str());
    return kOk;
}

std::string trimmed(const std::string& s) {
    std::size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

int enrol(const std::string& data_dir, const std::string& key_text, const std::string& district_in, bool move) {
    auto key = parse_kiosk_public_key(key_text, "--kiosk-key");
    if (!key.ok()) return fail(key.error().message, kUsage);
    const std::string district = trimmed(district_in);
    if (district.empty() || district.size() > 200) return fail("--district must name the district office (1 to 200 bytes)", kUsage);
    auto db = open_db(data_dir);
    if (!db.ok()) return fail(db.error());
    auto r = db.value()->enrol(key->hex(), district, move);
    if (!r.ok()) return r.error().code == ErrorCode::InvalidArgument ? fail(r.error().message, kRefused) : fail(r.error());
    switch (r.value()) {
        case EnrolOutcome::Enrolled: std::printf("enrolled kiosk %s in %s\n", key->hex().c_str(), district.c_str()); break;
        case EnrolOutcome::AlreadyEnrolled: std::printf("kiosk %s was already enrolled in %s\n", key->hex().c_str(), district.c_str()); break;
        case EnrolOutcome::Moved: std::printf("moved kiosk %s to %s\n", key->hex().c_str(), district.c_str()); break;
    }
    return kOk;
}

int districts(const std::string& data_dir) {
    auto db = open_db(data_dir);
    if (!db.ok()) return fail(db.error());
    auto rows = db.value()->districts();
    if (!rows.ok()) return fail(rows.error());
    std::printf("district\tkiosks\trecords\n");
    for (const DistrictCount& d : rows.value())
        std::printf("%s\t%lld\t%lld\n", d.district.c_str(), static_cast<long long>(d.kiosks), static_cast<long long>(d.records));
    return kOk;
}

// One CSV cell (RFC 4180). Text that a spreadsheet would run as a formula gets a leading '.
std::string csv_cell(const std::string& text, bool is_text) {
    std::string v = text;
    if (is_text && !v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r')) v = "'" + v;
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string cell_of(const json* v) {
    if (!v || v->is_null()) return "";
    if (v->is_string()) return csv_cell(v->get<std::string>(), true);
    if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
    if (v->is_number()) return v->dump();
    return csv_cell(v->dump(), true);  // tables and multiple choices as JSON text
}

// The district's review as exported: {"at_ms","decision","reason","reviewer"}, or null.
json review_json(const std::optional<RecordReview>& review) {
    if (!review) return nullptr;
    return {{"at_ms", review->at_ms}, {"decision", review_decision_name(review->decision)}, {"reason", review->reason},
            {"reviewer", review->reviewer}};
}

int export_records(const std::string& data_dir, const std::string& format, const std::string& out_path, const std::string& form_id,
                   bool bom) {
    auto db = open_db(data_dir);
    if (!db.ok()) return fail(db.error());
    std::string out;
    std::size_t n = 0, skipped = 0;
    Status st = ok_status();
    if (format == "json") {
        out = "[";
        st = db.value()->each_record([&](const StoredRecord& r) {
            if (!form_id.empty() && r.form_id != form_id) {
                ++skipped;
                return;
            }
            json meta = {{"id", r.id}, {"district", r.district}, {"kiosk_id", r.kiosk_id}, {"batch_id", r.batch_id},
                         {"form_id", r.form_id}, {"form_version", r.form_version}, {"content_hash", r.content_hash},
                         {"submitted_ms", r.submitted_ms ? json(*r.submitted_ms) : json(nullptr)}, {"received_ms", r.received_ms},
                         {"review", review_json(r.review)}};
            std::string m = meta.dump();
            m.pop_back();  // the data goes in as stored, byte for byte
            out += (n++ ? ",\n" : "\n") + m + ",\"data\":" + r.data + "}";
        });
        out += n ? "\n]\n" : "]\n";
    } else {
        const std::string id = form_id.empty() ? "alliance-2022" : form_id;
        auto form = load_form(bundled_form_path(id));
        if (!form.ok()) return fail(form.error().message + " (choose the form with --form)", kUsage);
        std::vector<const Field*> fields = form->all_fields();
        if (bom) out = "\xEF\xBB\xBF";
        out += "id,district,kiosk_id,batch_id,form_id,form_version,content_hash,submitted_ms,received_ms,"
               "review_decision,review_reason,reviewer,review_at_ms";
        for (const Field* f : fields) out += "," + csv_cell(f->id, true);
        out += "\r\n";
        st = db.value()->each_record([&](const StoredRecord& r) {
            if (r.form_id != id) {
                ++skipped;
                return;
            }
            json data = json::parse(r.data, nullptr, false);
            out += csv_cell(r.id, true) + "," + csv_cell(r.district, true) + "," + r.kiosk_id + "," + r.batch_id + "," +
                   csv_cell(r.form_id, true) + "," + std::to_string(r.form_version) + "," + r.content_hash + "," +
                   (r.submitted_ms ? std::to_string(*r.submitted_ms) : "") + "," + std::to_string(r.received_ms) + "," +
                   (r.review ? std::string(review_decision_name(r.review->decision)) + "," + csv_cell(r.review->reason, true) + "," +
                                   csv_cell(r.review->reviewer, true) + "," + std::to_string(r.review->at_ms)
                             : std::string(",,,"));
            for (const Field* f : fields) {
                auto it = data.is_object() ? data.find(f->id) : data.end();
                out += "," + cell_of(data.is_object() && it != data.end() ? &*it : nullptr);
            }
            out += "\r\n";
            ++n;
        });
    }
    if (!st.ok()) return fail(st.error());
    if (auto w = write_file_atomic(out_path, out); !w.ok()) return fail(w.error().message, kOther);
    std::fprintf(stderr, "shenbao-intake: exported %zu record(s) to %s", n, out_path.c_str());
    if (skipped) std::fprintf(stderr, " (%zu of other forms left out)", skipped);
    std::fprintf(stderr, "\n");
    return kOk;
}

// 附件3 across districts: the received records of the form that their district
// recommended (with `all`, every one), grouped by district (received order within
// one), with a 区县 column after 序号.
int export_summary(const std::string& data_dir, const std::string& out_path, const std::string& form_id,
                   const std::string& district, const SummaryHeader& header, bool all) {
    auto form = load_form(bundled_form_path(form_id));
    if (!form.ok()) return fail(form.error().message + " (choose the form with --form)", kUsage);
    auto db = open_db(data_dir);
    if (!db.ok()) return fail(db.error());
    std::vector<SummaryEntry> entries;
    std::size_t unreadable = 0;
    Status st = db.value()->each_record([&](const StoredRecord& r) {
        if (r.form_id != form->form_id || (!district.empty() && r.district != district)) return;
        // 附件3 lists the districts' recommendations; records sent before kiosks had the review count too.
        if (!all && r.review && r.review->decision != ReviewDecision::Recommend) return;
        json data = json::parse(r.data, nullptr, false);
        if (data.is_discarded()) ++unreadable;  // still listed: a numbered row with its district
        entries.push_back({data.is_discarded() ? json::object() : std::move(data), r.district});
    });
    if (!st.ok()) return fail(st.error());
    std::stable_sort(entries.begin(), entries.end(),
                     [](const SummaryEntry& a, const SummaryEntry& b) { return a.district < b.district; });
    SummaryOptions options{header, true};
    if (options.header.recommender.empty()) options.header.recommender = district;
    if (auto w = write_summary_xlsx(*form, entries, options, out_path); !w.ok()) return fail(w.error().message, kOther);
    std::fprintf(stderr, "shenbao-intake: exported %zu application(s) to %s", entries.size(), out_path.c_str());
    if (unreadable) std::fprintf(stderr, " (%zu with unreadable data listed with empty cells)", unreadable);
    std::fprintf(stderr, "\n");
    return kOk;
}

bool parse_listen(const std::string& text, ServeOptions& o) {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    std::string host = text.substr(0, colon), port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty() || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
    int p = std::stoi(port);
    if (p > 65535) return false;
    o.host = host;
    o.port = p;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"shenbao-intake — the commission's receiving server: tus uploads of sealed batches, verified, validated and "
                 "stored exactly once, with signed receipts"};
    app.set_version_flag("--version", std::string("shenbao-intake ") + SHENBAO_VERSION);
    app.footer("Data folder: --data-dir, else $SHENBAO_INTAKE_DIR, else $XDG_DATA_HOME/shenbao-intake, else\n"
               "~/.local/share/shenbao-intake. It holds intake.db, uploads/ and (by default) the keys.\n"
               "Exit codes: 0 ok, 1 bad usage, 2 database or key file cannot be opened, 3 server cannot start,\n"
               "4 refused (keys exist / kiosk enrolled elsewhere), 5 other error.");
    app.require_subcommand(1);
    std::string data_dir = default_intake_dir();
    app.add_option("--data-dir", data_dir, "Folder holding intake.db, uploads/ and the keys");

    auto* keygen_cmd = app.add_subcommand("keygen", "Make the commission key pair (X25519) and the receipt key (Ed25519)");
    std::string key_out;
    keygen_cmd->add_option("--out", key_out, "Folder for commission.key and receipt.key (default: the data folder)");

    auto* enrol_cmd = app.add_subcommand("enrol", "Enrol a kiosk's public key in a district (only enrolled kiosks get in)");
    std::string kiosk_key, district;
    bool move = false;
    enrol_cmd->add_option("--kiosk-key", kiosk_key, "The kiosk's Ed25519 public key: 64 hex or 44 base64 characters")->required();
    enrol_cmd->add_option("--district", district, "The district office the kiosk stands in, e.g. 渝中区")->required();
    enrol_cmd->add_flag("--move", move, "Move an enrolled kiosk to another district");

    auto* districts_cmd = app.add_subcommand("districts", "List districts with their kiosk and record counts (tab-separated)");

    auto* export_cmd = app.add_subcommand("export", "Export the received records (written to a temporary file, then renamed)");
    std::string format, out_path, form_id;
    bool bom = false;
    export_cmd->add_option("--format", format, "json (every record, data as received) or csv (one form, one column per field)")
        ->required()->check(CLI::IsMember({"json", "csv"}));
    export_cmd->add_option("--out", out_path, "The file to write")->required();
    export_cmd->add_option("--form", form_id, "Only records of this form (csv default: alliance-2022)");
    export_cmd->add_flag("--bom", bom, "Start the CSV with a UTF-8 byte order mark (for Excel)");

    auto* summary_cmd = app.add_subcommand("export-summary",
        "Write the 附件3 recommendation summary (.xlsx, A4 landscape) across districts, with a 区县 column");
    std::string summary_out, summary_form = "alliance-2022", summary_district;
    SummaryHeader summary_header;
    summary_cmd->add_option("--out", summary_out, "The .xlsx file to write")->required();
    summary_cmd->add_option("--form", summary_form, "The form whose records go in")->capture_default_str();
    summary_cmd->add_option("--district", summary_district, "Only this district (default: every district)");
    bool summary_all = false;
    summary_cmd->add_flag("--all", summary_all, "Every received application, not only those their district recommended");
    summary_cmd->add_option("--recommender", summary_header.recommender, "推荐单位 in the header line (default: --district)");
    summary_cmd->add_option("--contact", summary_header.contact, "联系人 in the header line");
    summary_cmd->add_option("--phone", summary_header.phone, "The contact person's phone");

    auto* serve_cmd = app.add_subcommand("serve", "Serve the tus upload, commit, receipt and health endpoints over HTTPS");
    ServeOptions so;
    std::string listen = "127.0.0.1:8443";
    serve_cmd->add_option("--listen", listen, "HOST:PORT to listen on; port 0 picks a free one (printed on stdout)")->capture_default_str();
    serve_cmd->add_option("--cert", so.cert, "TLS certificate chain (PEM)")->required();
    serve_cmd->add_option("--key", so.key, "TLS private key (PEM, unencrypted)")->required();
    serve_cmd->add_option("--key-dir", so.key_dir, "Folder with commission.key and receipt.key (default: the data folder)");
    serve_cmd->add_option("--upload-expiry-hours", so.upload_expiry_hours, "Delete unfinished uploads older than this")
        ->capture_default_str()->check(CLI::Range(1, 24 * 365));
    serve_cmd->add_option("--threads", so.threads, "Connections served at once")->capture_default_str()->check(CLI::Range(2, 256));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? kOk : kUsage;
    }

    if (*keygen_cmd) return keygen(key_out.empty() ? data_dir : key_out);
    if (*enrol_cmd) return enrol(data_dir, kiosk_key, district, move);
    if (*districts_cmd) return districts(data_dir);
    if (*export_cmd) return export_records(data_dir, format, out_path, form_id, bom);
    if (*summary_cmd) return export_summary(data_dir, summary_out, summary_form, summary_district, summary_header, summary_all);
    if (*serve_cmd) {
        if (!parse_listen(listen, so)) return fail("--listen must be HOST:PORT, e.g. 127.0.0.1:8443 (port 0: any free port)", kUsage);
        so.data_dir = data_dir;
        return serve(so);
    }
    return kUsage;
}
