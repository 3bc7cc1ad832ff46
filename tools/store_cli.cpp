// shenbao-store: create, fill, inspect, export, verify and rekey a kiosk store.
// Exit codes: 0 ok · 1 bad usage · 2 the store or key cannot be opened ·
// 3 the audit chain or content does not verify · 4 no such record ·
// 5 any other error (message on stderr says which file and what to do).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "shenbao/form.h"
#include "shenbao/generator.h"
#include "shenbao/keys.h"
#include "shenbao/paper.h"
#include "shenbao/store.h"
#include "shenbao/store_files.h"
#include "shenbao/validate.h"

namespace {

using nlohmann::json;
using namespace shenbao;

enum Exit { kOk = 0, kUsage = 1, kOpen = 2, kVerify = 3, kNotFound = 4, kOther = 5 };

int fail(const Error& e) {
    std::cerr << "shenbao-store: " << e.message << "\n";
    switch (e.code) {
        case ErrorCode::WrongKey: case ErrorCode::NotAStore: case ErrorCode::Corrupt:
        case ErrorCode::KeyFile: case ErrorCode::UnsupportedVersion:
            return kOpen;
        case ErrorCode::NotFound: return kNotFound;
        case ErrorCode::AuditBroken: return kVerify;
        default: return kOther;
    }
}

struct Options {
    std::string data_dir = default_data_dir();
    std::string store, key, form_id = "alliance-2022", lang = "zh";
    std::string store_path() const { return store.empty() ? store_path_in(data_dir) : store; }
    std::string key_path() const { return key.empty() ? key_path_in(data_dir) : key; }
    Lang language() const { return lang == "en" ? Lang::En : Lang::Zh; }
};

std::string value_text(const Field& f, const json& v, Lang lang) {
    if (v.is_boolean()) return v.get<bool>() ? (lang == Lang::Zh ? "是" : "yes") : (lang == Lang::Zh ? "否" : "no");
    if (v.is_array()) {
        std::string out;
        for (const json& e : v) {
            const Option* o = e.is_string() ? f.find_option(e.get<std::string>()) : nullptr;
            out += (out.empty() ? "" : "、") + (o ? pick(o->label, lang) : e.dump());
        }
        return out;
    }
    if (v.is_string()) {
        const Option* o = f.find_option(v.get<std::string>());
        std::string s = o ? pick(o->label, lang) : v.get<std::string>();
        return f.unit.empty() ? s : s + " " + f.unit;
    }
    return v.dump();
}

void print_record(const FormDefinition& form, const Record& r, Lang lang) {
    std::printf("%s  %s@%d  %s  hash=%s\n", r.meta.id.c_str(), r.meta.form_id.c_str(), r.meta.form_version,
                status_name(r.meta.status), r.meta.content_hash.empty() ? "-" : r.meta.content_hash.c_str());
    for (const Section& s : form.sections) {
        std::printf("\n== %s ==\n", pick(s.title, lang).c_str());
        for (const Field& f : s.fields) {
            auto it = r.data.find(f.id);
            if (it == r.data.end() || !is_filled(&*it)) continue;
            if (f.type != FieldType::Table) {
                std::string v = value_text(f, *it, lang);
                if (f.type == FieldType::Multiline && v.size() > 240) {
                    std::size_t cut = std::min<std::size_t>(v.find('\n'), 240);
                    while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
                    v = v.substr(0, cut) + " …";
                }
                std::printf("  %s: %s\n", pick(f.label, lang).c_str(), v.c_str());
                continue;
            }
            std::printf("  %s:\n", pick(f.label, lang).c_str());
            for (std::size_t i = 0; i < it->size(); ++i) {
                std::printf("    [%zu]", i + 1);
                for (const Field& c : f.columns) {
                    auto cell = (*it)[i].find(c.id);
                    if (cell != (*it)[i].end() && is_filled(&*cell))
                        std::printf(" %s=%s;", pick(c.label, lang).c_str(), value_text(c, *cell, lang).c_str());
                }
                std::printf("\n");
            }
        }
    }
    auto issues = validate_record(form, r.data);
    std::printf("\n== %s ==\n", lang == Lang::Zh ? "校验" : "Validation");
    if (issues.empty()) std::printf("  %s\n", lang == Lang::Zh ? "无问题" : "no issues");
    for (const Issue& i : issues) std::printf("  %s: %s\n", i.path.c_str(), pick(i.message, lang).c_str());
    std::printf("== %s ==\n", lang == Lang::Zh ? "申报条件" : "Eligibility");
    for (const EligibilityCheck& c : check_eligibility(form, r.data))
        std::printf("  [%s] %s\n", c.state == CheckState::Pass ? "✓" : c.state == CheckState::Fail ? "✗" : "…",
                    pick(c.rule->message, lang).c_str());
}

Result<FormDefinition> the_form(const Options& o) { return load_form(bundled_form_path(o.form_id)); }

// Cuts every multi-line text of `data` to `max_chars` code points (UTF-8 safe).
void shorten_texts(const FormDefinition& form, json& data, std::size_t max_chars) {
    for (const Field* f : form.all_fields()) {
        auto it = data.find(f->id);
        if (f->type != FieldType::Multiline || it == data.end() || !it->is_string()) continue;
        const std::string& text = it->get_ref<const std::string&>();
        std::size_t chars = 0, at = 0;
        while (at < text.size() && chars < max_chars) {
            at += 1;
            while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
            ++chars;
        }
        *it = text.substr(0, at);
    }
}

// 附件3 of the records `status_name` selects, oldest first: "recommended" (the
// default: the district's recommendations, whatever the sync has done with them
// since), or statuses, comma-separated (submitted,queued,synced).
int export_summary(Store& db, const Options& o, const std::string& status_name, const SummaryHeader& header,
                   const std::string& path) {
    std::vector<RecordMeta> rows;  // ULIDs sort by time: oldest first across statuses
    if (status_name == "recommended") {
        auto some = db.list_review(ReviewQueue::Recommended);
        if (!some.ok()) return fail(some.error());
        rows = std::move(some.value());
    } else {
        for (std::size_t at = 0; at <= status_name.size();) {
            std::size_t comma = std::min(status_name.find(',', at), status_name.size());
            const std::string name = status_name.substr(at, comma - at);
            at = comma + 1;
            auto status = parse_status(name);
            if (!status) {
                std::cerr << "shenbao-store: unknown status \"" << name << "\" (recommended, or statuses: submitted,queued,synced)\n";
                return kUsage;
            }
            auto some = db.list(status);
            if (!some.ok()) return fail(some.error());
            rows.insert(rows.end(), some->begin(), some->end());
        }
    }
    std::sort(rows.begin(), rows.end(), [](const RecordMeta& a, const RecordMeta& b) { return a.id < b.id; });
    auto form = the_form(o);
    if (!form.ok()) return fail(form.error());
    std::vector<SummaryEntry> entries;
    for (const RecordMeta& m : rows) {
        if (m.form_id != form->form_id) continue;
        auto r = db.get(m.id);
        if (!r.ok()) return fail(r.error());
        entries.push_back({std::move(r->data), ""});
    }
    if (auto st = write_summary_xlsx(*form, entries, SummaryOptions{header, false}, path); !st.ok()) return fail(st.error());
    std::printf("exported %zu application(s) to %s\n", entries.size(), path.c_str());
    return kOk;
}

std::string review_line(const ReviewEntry& e) {
    return "#" + std::to_string(e.seq) + " " + review_decision_name(e.review.decision) + " by " + e.review.reviewer + " at " +
           std::to_string(e.review.at_ms) + (e.review.reason.empty() ? "" : ": " + e.review.reason);
}

// The review history and, after a return, what the applicant changed since.
Status print_reviews(Store& db, const std::string& id) {
    auto history = db.reviews(id);
    if (!history.ok()) return history.error();
    std::printf("== review ==\n");
    if (history->empty()) std::printf("  (none)\n");
    for (const ReviewEntry& e : *history) std::printf("  %s\n", review_line(e).c_str());
    auto changes = db.changes_since_return(id);
    if (!changes.ok()) return changes.error();
    if (*changes) {
        std::printf("== changes since the last return: %zu ==\n", (*changes)->size());
        for (const FieldChange& c : **changes)
            std::printf("  %s: %s -> %s\n", c.field_id.c_str(), c.before ? c.before->dump().c_str() : "(none)",
                        c.after ? c.after->dump().c_str() : "(none)");
    }
    return ok_status();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"shenbao-store — the kiosk's encrypted store, for staff and development"};
    app.set_version_flag("--version", std::string("shenbao-store ") + SHENBAO_VERSION);
    app.footer("Data folder: $SHENBAO_DATA_DIR, else $XDG_DATA_HOME/shenbao, else ~/.local/share/shenbao\n"
               "(store.db and its key store.key, mode 0600; a systemd credential named shenbao-store-key wins).\n"
               "Export folder (export-summary, pdf): the paper.export_dir setting, else <data-dir>/exports.\n"
               "Exit codes: 0 ok, 1 bad usage, 2 store or key cannot be opened, 3 verify failed,\n"
               "4 no such record, 5 other error.");
    app.require_subcommand(1);
    Options o;
    app.add_option("--data-dir", o.data_dir, "Folder holding store.db and store.key");
    app.add_option("--store", o.store, "Store file (default: <data-dir>/store.db)");
    app.add_option("--key-file", o.key, "Key file (default: <data-dir>/store.key)");
    app.add_option("--form", o.form_id, "Form id under assets/forms/")->capture_default_str();
    app.add_option("--lang", o.lang, "Language of labels: zh or en")->check(CLI::IsMember({"zh", "en"}))->capture_default_str();

    auto* init = app.add_subcommand("init", "Create a new store and its key file");
    std::uint64_t seed = 1;
    int count = 10;
    bool submit = true;
    auto* gen = app.add_subcommand("generate", "Add synthetic applications (deterministic from --seed)");
    gen->add_option("--count,-n", count, "How many")->check(CLI::Range(1, 1000000))->capture_default_str();
    gen->add_option("--seed", seed, "First seed; record i uses seed+i")->capture_default_str();
    gen->add_flag("!--draft", submit, "Leave them as drafts instead of submitting");
    bool short_texts = false;
    gen->add_flag("--short-texts", short_texts,
                  "Cut multi-line texts (the 附件2 report) to 200 characters: small records for big backlogs (bench/sync_bench.py)");
    std::string recommend_as;
    gen->add_option("--recommend-as", recommend_as, "Also recommend each one as this reviewer (demos, load tests: ready to sync)");
    std::string status_filter;
    std::string record_id;
    std::size_t limit = 0;
    auto* list = app.add_subcommand("list", "List records");
    list->add_option("--status", status_filter, "Only this status (draft, submitted, queued, synced, purged, returned)");
    list->add_option("--limit", limit, "At most this many");
    std::string review_filter;
    list->add_option("--review", review_filter, "Only this review state (awaiting, ready, recommended, not-recommended)");
    std::string decision_name, reviewer, comment;
    auto* review = app.add_subcommand("review", "Record the preliminary review (初审) decision on a submitted record");
    review->add_option("id", record_id, "Record id")->required();
    review->add_option("--decision", decision_name, "recommend, return (back to the applicant) or not-recommend")->required();
    review->add_option("--reviewer", reviewer, "The staff member's name (goes into the audit log)")->required();
    review->add_option("--comment", comment, "Comment; required for return (what to correct) and not-recommend (the reason)");
    bool as_json = false;
    auto* show = app.add_subcommand("show", "Print one record with its labels, validation and eligibility");
    show->add_option("id", record_id, "Record id")->required();
    show->add_flag("--json", as_json, "Print the stored JSON instead");
    std::string out_path = "-";
    auto* exp = app.add_subcommand("export", "Export records as JSON (written to a temporary file, then renamed)");
    exp->add_option("--out,-o", out_path, "Output file, or - for stdout")->capture_default_str();
    exp->add_option("--status", status_filter, "Only this status");
    auto* verify = app.add_subcommand("verify", "Verify the audit chain and every submitted record's content hash");
    auto* rekey = app.add_subcommand("rekey", "Re-encrypt the store under a new key and replace the key file (stop the kiosk and agent first)");
    auto* staff_pin = app.add_subcommand("staff-pin", "Set the kiosk's staff PIN (4-12 digits, read from standard input)");
    std::string form_file;
    auto* check_form = app.add_subcommand("check-form", "Check a form definition file");
    check_form->add_option("file", form_file, "Form definition (JSON)")->required();
    std::string summary_status = "recommended", summary_out, pdf_out, printer;
    SummaryHeader header;
    auto* summary = app.add_subcommand("export-summary",
        "Write the 附件3 recommendation summary table (.xlsx, A4 landscape) of the records with --status");
    summary->add_option("--out,-o", summary_out, "The .xlsx file (default: summary-<time>.xlsx in the export folder)");
    summary->add_option("--status", summary_status, "Which records go in: recommended (the review's), or statuses: submitted,queued,synced")
        ->capture_default_str();
    summary->add_option("--district,--recommender", header.recommender, "推荐单位: the recommending district office (default: setting paper.recommender)");
    summary->add_option("--contact", header.contact, "联系人: the district's contact person (default: setting paper.contact)");
    summary->add_option("--phone", header.phone, "The contact person's phone (default: setting paper.phone)");
    bool print = false;
    auto* pdf = app.add_subcommand("pdf", "Write one application as a printable A4 PDF (附件1 tables + 附件2 report); --print sends it to CUPS");
    pdf->add_option("id", record_id, "Record id (the receipt's reference number)")->required();
    pdf->add_option("--out,-o", pdf_out, "The .pdf file (default: application-<id>.pdf in the export folder)");
    pdf->add_flag("--print", print, "Also print it with lp (after saving it)");
    pdf->add_option("--printer", printer, "CUPS printer (default: the paper.printer setting, else CUPS's default)");
    auto* quarantined = app.add_subcommand("quarantined", "List the records the commission refused (the sync agent's quarantine), with its reasons");
    std::string release_id;
    auto* release = app.add_subcommand("release", "Send a quarantined record again at the next sync (after fixing what the reason says)");
    release->add_option("id", release_id, "Record id")->required();
    auto* demo = app.add_subcommand("demo", "Create the store if needed, save a sample application field by field, submit it and print it back");
    demo->add_option("--seed", seed, "Which sample")->capture_default_str();

    CLI11_PARSE(app, argc, argv);
    const Lang lang = o.language();

    if (*check_form) {
        auto f = load_form(form_file);
        if (!f.ok()) return fail(f.error());
        std::size_t n = 0;
        for (const Section& s : f->sections) n += s.fields.size();
        std::printf("%s: ok — %s version %d, %zu sections, %zu fields, %zu rules\n", form_file.c_str(), f->form_id.c_str(),
                    f->version, f->sections.size(), n, f->rules.size());
        return kOk;
    }

    std::optional<RecordStatus> status;
    if (!status_filter.empty()) {
        status = parse_status(status_filter);
        if (!status) { std::cerr << "shenbao-store: unknown status \"" << status_filter << "\"\n"; return kUsage; }
    }
    if (o.store.empty() || o.key.empty()) {
        if (auto st = ensure_dir(o.data_dir); !st.ok()) return fail(st.error());
    }
    if (*init) {
        if (::access(o.store_path().c_str(), F_OK) == 0) {
            std::cerr << "shenbao-store: " << o.store_path() << ": already exists; nothing changed\n";
            return kOther;
        }
        auto s = open_store(o.store_path(), o.key_path(), true);
        if (!s.ok()) return fail(s.error());
        std::printf("created %s (key %s, schema %d)\n", o.store_path().c_str(), o.key_path().c_str(), store_schema_version());
        return kOk;
    }
    auto store = open_store(o.store_path(), o.key_path(), bool(*demo));
    if (!store.ok()) return fail(store.error());
    Store& db = **store;

    if (*gen || *demo) {
        auto form = the_form(o);
        if (!form.ok()) return fail(form.error());
        int n = *demo ? 1 : count;
        std::string last;
        for (int i = 0; i < n; ++i) {
            json data = generate_application(*form, seed + static_cast<std::uint64_t>(i));
            if (short_texts) shorten_texts(*form, data, 200);
            auto meta = db.create_record(form->form_id, form->version, "cli");
            if (!meta.ok()) return fail(meta.error());
            if (*demo) {
                // As the kiosk does it: one durable transaction per field.
                for (auto it = data.begin(); it != data.end(); ++it)
                    if (auto st = db.save_field(meta->id, it.key(), it.value()); !st.ok()) return fail(st.error());
            } else if (auto st = db.save_fields(meta->id, data); !st.ok()) {
                return fail(st.error());
            }
            if (submit)
                if (auto st = db.set_status(meta->id, RecordStatus::Submitted, "cli"); !st.ok()) return fail(st.error());
            if (submit && !recommend_as.empty())
                if (auto st = db.review(meta->id, ReviewDecision::Recommend, recommend_as, ""); !st.ok()) return fail(st.error());
            last = meta->id;
        }
        if (*gen) {
            std::printf("added %d %s application(s) to %s\n", n,
                        submit ? (recommend_as.empty() ? "submitted" : "submitted and recommended") : "draft", o.store_path().c_str());
            return kOk;
        }
        std::printf("store: %s\nkey:   %s (mode 0600)\n\n", o.store_path().c_str(), o.key_path().c_str());
        auto r = db.get(last);
        if (!r.ok()) return fail(r.error());
        print_record(*form, *r, lang);
        return kOk;
    }
    if (*review) {
        auto decision = parse_review_decision(decision_name);
        if (!decision) {
            std::cerr << "shenbao-store: unknown decision \"" << decision_name << "\"; use recommend, return or not-recommend\n";
            return kUsage;
        }
        auto e = db.review(record_id, *decision, reviewer, comment);
        if (!e.ok() && e.error().code == ErrorCode::InvalidArgument) {
            std::cerr << "shenbao-store: " << e.error().message << "; nothing changed\n";
            return kUsage;
        }
        if (!e.ok()) return fail(e.error());
        std::printf("%s: %s\n", record_id.c_str(), review_line(*e).c_str());
        return kOk;
    }
    if (*list) {
        std::optional<ReviewQueue> queue;
        if (!review_filter.empty() && !(queue = parse_review_queue(review_filter))) {
            std::cerr << "shenbao-store: unknown review state \"" << review_filter << "\"; use awaiting, ready, recommended or not-recommended\n";
            return kUsage;
        }
        auto rows = queue ? db.list_review(*queue, limit) : db.list(status, limit);
        if (!rows.ok()) return fail(rows.error());
        for (const RecordMeta& m : *rows) {
            auto r = db.get(m.id);
            std::string name = r.ok() && r->data.contains("alliance_name") && r->data["alliance_name"].is_string()
                                   ? r->data["alliance_name"].get<std::string>() : "";
            std::string decided = r.ok() && r->review ? review_decision_name(r->review->decision) : "-";
            std::printf("%s  %-9s  %-13s  %s@%d  %s\n", m.id.c_str(), status_name(m.status), decided.c_str(), m.form_id.c_str(),
                        m.form_version, name.c_str());
        }
        std::fprintf(stderr, "%zu record(s)\n", rows->size());
        return kOk;
    }
    if (*show) {
        auto r = db.get(record_id);
        if (!r.ok()) return fail(r.error());
        if (as_json) {
            std::printf("%s\n", json{{"id", r->meta.id}, {"status", status_name(r->meta.status)}, {"data", r->data}}.dump(2).c_str());
            return kOk;
        }
        auto form = load_form(bundled_form_path(r->meta.form_id));
        if (!form.ok()) return fail(form.error());
        print_record(*form, *r, lang);
        if (auto st = print_reviews(db, record_id); !st.ok()) return fail(st.error());
        return kOk;
    }
    if (*exp) {
        auto rows = db.list(status);
        if (!rows.ok()) return fail(rows.error());
        json out = json::array();
        for (const RecordMeta& m : *rows) {
            auto r = db.get(m.id);
            if (!r.ok()) return fail(r.error());
            json rec = {{"id", m.id}, {"form_id", m.form_id}, {"form_version", m.form_version},
                        {"status", status_name(m.status)}, {"created_ms", m.created_ms}, {"updated_ms", m.updated_ms},
                        {"content_hash", m.content_hash}, {"data", r->data}};
            if (m.submitted_ms) rec["submitted_ms"] = *m.submitted_ms;
            auto history = db.reviews(m.id);
            if (!history.ok()) return fail(history.error());
            json reviews = json::array();
            for (const ReviewEntry& e : *history)
                reviews.push_back({{"seq", e.seq}, {"decision", review_decision_name(e.review.decision)}, {"comment", e.review.reason},
                                   {"reviewer", e.review.reviewer}, {"at_ms", e.review.at_ms}, {"content_hash", e.content_hash}});
            rec["reviews"] = std::move(reviews);
            out.push_back(std::move(rec));
        }
        std::string text = out.dump(2) + "\n";
        if (out_path == "-") {
            std::fwrite(text.data(), 1, text.size(), stdout);
        } else {
            if (auto st = write_file_atomic(out_path, text); !st.ok()) return fail(st.error());
            std::fprintf(stderr, "exported %zu record(s) to %s\n", rows->size(), out_path.c_str());
        }
        return kOk;
    }
    if (*summary || *pdf) {
        // The export folder: a configured one (a USB stick) must exist; the default is made on demand.
        auto configured = db.setting(kExportDirSetting);
        if (!configured.ok()) return fail(configured.error());
        std::string folder = configured->value_or("");
        if (folder.empty()) {
            folder = default_export_dir(o.data_dir);
            if ((*summary ? summary_out : pdf_out).empty())
                if (auto st = ensure_dir(folder); !st.ok()) return fail(st.error());
        }
        // The header line defaults to what the kiosk's staff set (paper.recommender, .contact, .phone).
        for (auto [value, key] : {std::pair{&header.recommender, "paper.recommender"}, std::pair{&header.contact, "paper.contact"},
                                  std::pair{&header.phone, "paper.phone"}}) {
            auto v = db.setting(key);
            if (value->empty() && v.ok() && *v) *value = **v;
        }
        if (*summary) return export_summary(db, o, summary_status, header,
                                            summary_out.empty() ? folder + "/" + summary_file_name(now_ms()) : summary_out);
        auto r = db.get(record_id);
        if (!r.ok()) return fail(r.error());
        auto form = load_form(bundled_form_path(r->meta.form_id));
        if (!form.ok()) return fail(form.error());
        std::string path = pdf_out.empty() ? folder + "/" + application_file_name(r->meta.id) : pdf_out;
        if (auto st = write_application_pdf(*form, *r, path); !st.ok()) return fail(st.error());
        std::printf("saved %s\n", path.c_str());
        if (!print) return kOk;
        auto setting = db.setting(kPrinterSetting);
        std::string queue = choose_printer(!printer.empty() ? printer : setting.ok() ? setting->value_or("") : "");
        if (auto st = print_file(path, queue); !st.ok()) return fail(st.error());
        std::printf("sent %s to printer %s\n", path.c_str(), queue.c_str());
        return kOk;
    }
    if (*verify) {
        auto rep = db.verify();
        if (!rep.ok()) return fail(rep.error());
        for (const std::string& p : rep->problems) std::printf("PROBLEM: %s\n", p.c_str());
        std::printf("%s: %lld audit entries, %lld records checked: %s\n", o.store_path().c_str(),
                    static_cast<long long>(rep->entries), static_cast<long long>(rep->records_checked),
                    rep->problems.empty() ? "ok" : "TAMPERED");
        return rep->problems.empty() ? kOk : kVerify;
    }
    if (*staff_pin) {
        std::string pin;
        std::getline(std::cin, pin);
        if (pin.size() < 4 || pin.size() > 12 || pin.find_first_not_of("0123456789") != std::string::npos) {
            std::cerr << "shenbao-store: the staff PIN must be 4 to 12 digits; nothing changed\n";
            return kUsage;
        }
        auto hash = hash_pin(pin);
        if (!hash.ok()) return fail(hash.error());
        if (auto st = db.set_setting("kiosk.staff_pin_hash", *hash); !st.ok()) return fail(st.error());
        if (auto st = db.audit("cli", "", "staff-pin", "staff PIN changed"); !st.ok()) return fail(st.error());
        std::printf("staff PIN set for %s\n", o.store_path().c_str());
        return kOk;
    }
    if (*quarantined) {
        auto rows = db.quarantined();
        if (!rows.ok()) return fail(rows.error());
        for (const QuarantineEntry& q : *rows)
            std::printf("%s  %-10s  batch %s  %s\n", q.record_id.c_str(), q.result.c_str(), q.batch_id.c_str(), q.reason.c_str());
        std::fprintf(stderr, "%zu quarantined record(s)\n", rows->size());
        return kOk;
    }
    if (*release) {
        if (auto st = db.release_quarantined(release_id, "cli"); !st.ok()) return fail(st.error());
        std::printf("%s goes again at the next sync\n", release_id.c_str());
        return kOk;
    }
    if (*rekey) {
        if (auto st = rekey_store(db, o.key_path()); !st.ok()) return fail(st.error());
        std::printf("rekeyed %s; new key in %s\n", o.store_path().c_str(), o.key_path().c_str());
        return kOk;
    }
    return kUsage;
}
