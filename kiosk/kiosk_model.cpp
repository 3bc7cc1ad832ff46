// The kiosk model (see kiosk_model.h).
// [SECTION] Input hygiene   [SECTION] Session   [SECTION] Editing
// [SECTION] Navigation and review   [SECTION] Leave and resume   [SECTION] Staff
// [SECTION] Staff: paper
#include "kiosk_model.h"
#include "text_wrap.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <regex>

#include "shenbao/keys.h"
#include "shenbao/paper.h"
#include "shenbao/store_files.h"

namespace shenbao::kiosk {

using nlohmann::json;

namespace {

const std::vector<Issue> kNoIssues;

// Splits "council[2].phone" into ("council", 2, "phone"); plain ids give row = npos.
struct CellPath {
    std::string field;
    std::size_t row = std::string::npos;
    std::string column;
};

CellPath parse_path(const std::string& path) {
    static const std::regex re(R"(([a-z0-9_]+)\[(\d+)\]\.([a-z0-9_]+))");
    std::smatch m;
    if (std::regex_match(path, m, re)) return {m[1], std::stoul(m[2]), m[3]};
    return {path, std::string::npos, ""};
}

std::string format_time(std::int64_t ms) {
    if (ms <= 0) return "";
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

}  // namespace

// [SECTION] Input hygiene

std::string sanitize_input(const std::string& text, bool multiline, std::size_t max_chars, EditNote* note) {
    std::string out;
    std::size_t chars = 0;
    EditNote n = EditNote::None;
    for (std::size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (i + len > text.size()) break;  // a cut-off sequence at the end
        bool control = c < 0x20 || c == 0x7F;
        if (control && !(multiline && c == '\n')) {
            n = EditNote::ControlDropped;
            i += len;
            continue;
        }
        if (max_chars && chars == max_chars) {
            n = EditNote::Truncated;
            break;
        }
        out.append(text, i, len);
        ++chars;
        i += len;
    }
    if (note) *note = n;
    return out;
}

// [SECTION] Session

KioskModel::KioskModel(Store* store, const FormDefinition& form, Clock clock, std::string fatal_error)
    : store_(store), form_(form), clock_(std::move(clock)), fatal_error_(std::move(fatal_error)) {
    if (!store_) {
        screen_ = Screen::Fatal;
        return;
    }
    load_settings();
    lang_ = settings_.lang;
    last_input_ms_ = clock_();
}

void KioskModel::load_settings() {
    auto get = [&](const char* key) -> std::optional<std::string> {
        auto v = store_->setting(key);
        return v.ok() ? *v : std::nullopt;
    };
    if (auto v = get("kiosk.idle_seconds")) settings_.idle_seconds = std::max(30, std::atoi(v->c_str()));
    if (auto v = get("kiosk.lang")) settings_.lang = *v == "en" ? Lang::En : Lang::Zh;
    if (auto v = get("sync.window")) settings_.sync_window = *v;
    if (auto v = get(kExportDirSetting)) settings_.export_dir = *v;
    if (auto v = get(kPrinterSetting)) settings_.printer = *v;
    if (auto v = get("paper.recommender")) settings_.recommender = *v;
    if (auto v = get("paper.contact")) settings_.contact = *v;
    if (auto v = get("paper.phone")) settings_.phone = *v;
    settings_.countdown_seconds = std::min(30, settings_.idle_seconds / 2);
}

void KioskModel::set_notice(std::string zh, std::string en) { notice_ = {std::move(zh), std::move(en)}; }

void KioskModel::touch() { last_input_ms_ = clock_(); }

void KioskModel::set_language(Lang lang) {
    touch();
    lang_ = lang;
}

void KioskModel::start_new() {
    if (!store_) return;
    touch();
    end_session();
    auto meta = store_->create_record(form_.form_id, form_.version);
    if (!meta.ok()) {
        set_notice("无法开始新的申报，请联系工作人员：" + meta.error().message,
                   "Cannot start an application; please ask the staff: " + meta.error().message);
        return;
    }
    record_id_ = meta->id;
    screen_ = Screen::Form;
    section_ = 0;
}

void KioskModel::end_session() {
    flush(true);
    record_id_.clear();
    values_ = json::object();
    section_ = 0;
    pending_.clear();
    inline_issues_.clear();
    notes_.clear();
    focus_request_.clear();
    caret_path_.clear();
    caret_ = 0;
    saved_once_ = false;
    commitment_ = false;
    receipt_.clear();
    resume_code_.clear();
    return_comment_.clear();
    notice_ = {};
    staff_ = false;
    staff_record_ = {};
    staff_reviews_.clear();
    staff_changes_.reset();
    entry_ = {};
    lang_ = settings_.lang;
    screen_ = store_ ? Screen::Welcome : Screen::Fatal;
}

void KioskModel::tick() {
    if (!store_) return;
    flush(false);
    if (screen_ == Screen::Welcome || screen_ == Screen::Fatal) return;
    if (clock_() - last_input_ms_ >= static_cast<std::int64_t>(settings_.idle_seconds) * 1000) end_session();
}

std::optional<int> KioskModel::idle_countdown() const {
    if (screen_ == Screen::Welcome || screen_ == Screen::Fatal) return std::nullopt;
    std::int64_t left = static_cast<std::int64_t>(settings_.idle_seconds) * 1000 - (clock_() - last_input_ms_);
    if (left > static_cast<std::int64_t>(settings_.countdown_seconds) * 1000) return std::nullopt;
    return static_cast<int>(std::max<std::int64_t>(0, (left + 999) / 1000));
}

std::optional<std::int64_t> KioskModel::next_wakeup() const {
    std::optional<std::int64_t> at;
    for (const auto& [field, deadline] : pending_) at = at ? std::min(*at, deadline) : deadline;
    if (screen_ != Screen::Welcome && screen_ != Screen::Fatal) {
        std::int64_t reset = last_input_ms_ + static_cast<std::int64_t>(settings_.idle_seconds) * 1000;
        std::int64_t warn = reset - static_cast<std::int64_t>(settings_.countdown_seconds) * 1000;
        std::int64_t now = clock_();
        // While the countdown shows, wake every second to redraw it.
        std::int64_t next = now < warn ? warn : std::min(reset, now + 1000 - (now - warn) % 1000);
        at = at ? std::min(*at, next) : next;
    }
    return at;
}

// [SECTION] Editing

bool KioskModel::persist_field(const std::string& field_id) {
    auto it = values_.find(field_id);
    Status st = store_->save_field(record_id_, field_id, it == values_.end() ? json() : *it);
    if (st.ok()) {
        saved_once_ = true;
        return true;
    }
    set_notice("未能保存，请联系工作人员：" + st.error().message, "Could not save; please ask the staff: " + st.error().message);
    return false;
}

void KioskModel::flush(bool all) {
    if (!store_ || record_id_.empty()) return;
    std::int64_t now = clock_();
    for (auto it = pending_.begin(); it != pending_.end();) {
        if ((all || it->second <= now) && persist_field(it->first)) it = pending_.erase(it);
        else ++it;
    }
}

void KioskModel::set_value(const std::string& field_id, json value) {
    touch();
    if (record_id_.empty() || !form_.find_field(field_id)) return;
    values_[field_id] = std::move(value);
    pending_.emplace(field_id, clock_() + kSaveDelayMs);  // keeps an earlier deadline
}

json* KioskModel::cell(const std::string& path, const Field** field) {
    CellPath p = parse_path(path);
    const Field* top = form_.find_field(p.field);
    if (!top) return nullptr;
    if (p.row == std::string::npos) {
        if (top->type == FieldType::Table) return nullptr;
        *field = top;
        return &values_[p.field];
    }
    const Field* col = top->type == FieldType::Table ? top->find_column(p.column) : nullptr;
    json& rows = values_[p.field];
    if (!col || !rows.is_array() || p.row >= rows.size()) return nullptr;
    *field = col;
    return &rows[p.row][p.column];
}

void KioskModel::edit_text(const std::string& path, const std::string& text) {
    touch();
    if (record_id_.empty()) return;
    const Field* f = nullptr;
    json* slot = cell(path, &f);
    if (!slot) return;
    if (!valid_utf8(text)) {  // e.g. a paste of bytes that are not text: refused, nothing stored
        notes_[path] = EditNote::Malformed;
        return;
    }
    EditNote note = EditNote::None;
    std::string clean = f->is_texty() ? sanitize_input(text, f->type == FieldType::Multiline, f->max_length, &note) : text;
    *slot = clean;
    notes_[path] = note;
    pending_.emplace(parse_path(path).field, clock_() + kSaveDelayMs);  // keeps an earlier deadline
}

const json* KioskModel::find_cell(const std::string& path) const {
    CellPath p = parse_path(path);
    auto top = values_.find(p.field);
    if (top == values_.end()) return nullptr;
    if (p.row == std::string::npos) return &*top;
    if (!top->is_array() || p.row >= top->size()) return nullptr;
    const json& row = (*top)[p.row];
    auto c = row.is_object() ? row.find(p.column) : row.end();
    return row.is_object() && c != row.end() ? &*c : nullptr;
}

const std::string& KioskModel::text(const std::string& path) const {
    static const std::string none;
    const json* v = find_cell(path);
    return v && v->is_string() ? v->get_ref<const std::string&>() : none;
}

std::size_t KioskModel::caret(const std::string& path) const {
    const json* v = find_cell(path);
    std::size_t len = v && v->is_string() ? v->get_ref<const std::string&>().size() : 0;
    return path == caret_path_ ? std::min(caret_, len) : len;
}

void KioskModel::set_caret(const std::string& path, std::size_t byte) {
    const json* v = find_cell(path);
    std::string_view text = v && v->is_string() ? std::string_view(v->get_ref<const std::string&>()) : std::string_view();
    byte = std::min(byte, text.size());
    while (byte > 0 && byte < text.size() && (static_cast<unsigned char>(text[byte]) & 0xC0) == 0x80) --byte;
    caret_path_ = path;
    caret_ = byte;
}

void KioskModel::insert_text(const std::string& path, const std::string& text) {
    touch();
    if (record_id_.empty()) return;
    const Field* f = nullptr;
    json* slot = cell(path, &f);
    if (!slot || !f->is_texty()) return;
    if (!valid_utf8(text)) {
        notes_[path] = EditNote::Malformed;
        return;
    }
    std::string value = slot->is_string() ? slot->get<std::string>() : std::string();
    std::size_t at = caret(path);
    EditNote note = EditNote::None;
    std::string clean = sanitize_input(text, f->type == FieldType::Multiline, 0, &note);
    if (f->max_length) {  // only what the limit leaves; the text after the caret is never pushed out
        std::size_t room = f->max_length - std::min(f->max_length, count_code_points(value));
        std::size_t cut = 0;
        for (std::size_t n = 0; n < room && cut < clean.size(); ++n) cut = next_boundary(clean, cut);
        if (cut < clean.size()) {
            clean.resize(cut);
            note = EditNote::Truncated;
        }
    }
    value.insert(at, clean);
    put_text(path, *slot, std::move(value), note, at + clean.size());
}

void KioskModel::erase_text(const std::string& path, bool before_caret) {
    touch();
    if (record_id_.empty()) return;
    const Field* f = nullptr;
    json* slot = cell(path, &f);
    if (!slot || !slot->is_string()) return;
    std::string value = slot->get<std::string>();
    std::size_t at = caret(path);
    std::size_t from = before_caret ? prev_boundary(value, at) : at;
    std::size_t to = before_caret ? at : next_boundary(value, at);
    if (from == to) return;
    value.erase(from, to - from);
    put_text(path, *slot, std::move(value), EditNote::None, from);
}

void KioskModel::put_text(const std::string& path, json& slot, std::string value, EditNote note, std::size_t caret) {
    slot = std::move(value);
    notes_[path] = note;
    caret_path_ = path;
    caret_ = caret;
    pending_.emplace(parse_path(path).field, clock_() + kSaveDelayMs);  // keeps an earlier deadline
}

EditNote KioskModel::edit_note(const std::string& path) const {
    auto it = notes_.find(path);
    return it == notes_.end() ? EditNote::None : it->second;
}

void KioskModel::add_row(const std::string& table_id) {
    touch();
    const Field* t = form_.find_field(table_id);
    if (!t || t->type != FieldType::Table || record_id_.empty()) return;
    json& rows = values_[table_id];
    if (!rows.is_array()) rows = json::array();
    if (rows.size() >= t->max_rows) {
        set_notice("本表最多 " + std::to_string(t->max_rows) + " 行", "This table takes at most " + std::to_string(t->max_rows) + " rows");
        return;
    }
    rows.push_back(json::object());
    persist_field(table_id);
    pending_.erase(table_id);
}

void KioskModel::remove_row(const std::string& table_id, std::size_t row) {
    touch();
    auto it = values_.find(table_id);
    if (it == values_.end() || !it->is_array() || row >= it->size()) return;
    it->erase(row);
    persist_field(table_id);
    pending_.erase(table_id);
    show_issues_for(table_id);
}

void KioskModel::show_issues_for(const std::string& field_id) {
    const Field* f = form_.find_field(field_id);
    if (!f) return;
    inline_issues_[field_id] = validate_field(form_, *f, values_);
}

void KioskModel::leave_field(const std::string& field_id) {
    touch();
    if (record_id_.empty()) return;
    if (pending_.count(field_id) && persist_field(field_id)) pending_.erase(field_id);
    show_issues_for(field_id);
}

const std::vector<Issue>& KioskModel::field_issues(const std::string& field_id) const {
    auto it = inline_issues_.find(field_id);
    return it == inline_issues_.end() ? kNoIssues : it->second;
}

// [SECTION] Navigation and review

std::vector<const Field*> KioskModel::visible_fields(int section) const {
    std::vector<const Field*> out;
    if (section < 0 || section >= static_cast<int>(form_.sections.size())) return out;
    for (const Field& f : form_.sections[static_cast<std::size_t>(section)].fields)
        // The commitment is confirmed on its own screen just before submitting.
        if (f.filled_by == FilledBy::Applicant && f.type != FieldType::Commitment && is_visible(f, values_)) out.push_back(&f);
    return out;
}

// A required field counts as done when it is filled and its own checks pass
// (a table with an empty row is not done).
static bool field_done(const FormDefinition& form, const Field& f, const json& values) {
    auto it = values.find(f.id);
    return is_filled(it == values.end() ? nullptr : &*it) && validate_field(form, f, values).empty();
}

double KioskModel::section_progress(int section) const {
    int required = 0, done = 0;
    for (const Field* f : visible_fields(section)) {
        if (!f->required) continue;
        ++required;
        done += field_done(form_, *f, values_);
    }
    return required ? static_cast<double>(done) / required : 1.0;
}

double KioskModel::progress() const {
    int required = 0, done = 0;
    for (int s = 0; s < static_cast<int>(form_.sections.size()); ++s)
        for (const Field* f : visible_fields(s)) {
            if (!f->required) continue;
            ++required;
            done += field_done(form_, *f, values_);
        }
    return required ? static_cast<double>(done) / required : 1.0;
}

bool KioskModel::section_has_issues(int section) const {
    for (const Field* f : visible_fields(section))
        if (!field_issues(f->id).empty()) return true;
    return false;
}

void KioskModel::go_section(int section) {
    touch();
    if (section < 0 || section >= static_cast<int>(form_.sections.size())) return;
    flush(true);
    section_ = section;
    screen_ = Screen::Form;
    notice_ = {};
}

void KioskModel::next_section() {
    if (section_ + 1 < static_cast<int>(form_.sections.size())) go_section(section_ + 1);
    else open_review();
}

void KioskModel::prev_section() { go_section(std::max(0, section_ - 1)); }

std::vector<Issue> KioskModel::review_issues() const {
    std::vector<Issue> out;
    for (Issue& i : validate_record(form_, values_)) {
        const Field* f = form_.find_field(i.field_id);
        if (f && f->type == FieldType::Commitment) continue;  // confirmed on its own screen
        out.push_back(std::move(i));
    }
    return out;
}

std::vector<EligibilityCheck> KioskModel::eligibility() const { return check_eligibility(form_, values_); }

void KioskModel::open_review() {
    if (!store_) return;
    touch();
    flush(true);
    screen_ = Screen::Review;
    notice_ = {};
}

void KioskModel::jump_to(const Issue& issue) {
    touch();
    int s = form_.section_of(issue.field_id);
    if (s < 0) return;
    go_section(s);
    show_issues_for(issue.field_id);
    focus_request_ = issue.path;
}

static const Field* commitment_field(const FormDefinition& form) {
    for (const Field* f : form.all_fields())
        if (f->type == FieldType::Commitment) return f;
    return nullptr;
}

bool KioskModel::commitment_confirmed() const { return commitment_; }

void KioskModel::open_commitment() {
    if (!store_) return;
    touch();
    flush(true);
    if (!review_issues().empty()) {
        screen_ = Screen::Review;
        set_notice("请先处理以下问题，再提交", "Please resolve the items below before submitting");
        return;
    }
    screen_ = Screen::Commitment;
}

void KioskModel::set_commitment(bool confirmed) {
    touch();
    commitment_ = confirmed;
    if (const Field* f = commitment_field(form_)) set_value(f->id, confirmed);
}

bool KioskModel::submit() {
    touch();
    if (!commitment_) {
        set_notice("请先勾选承诺", "Please confirm the commitment first");
        return false;
    }
    flush(true);
    if (!pending_.empty()) return false;  // the notice says why saving failed
    auto issues = validate_record(form_, values_);
    if (!issues.empty()) {
        screen_ = Screen::Review;
        set_notice("还有问题需要处理", "Some items still need attention");
        return false;
    }
    Status st = store_->set_status(record_id_, RecordStatus::Submitted, "applicant");
    if (!st.ok()) {
        set_notice("提交失败，请联系工作人员：" + st.error().message, "Submitting failed; please ask the staff: " + st.error().message);
        return false;
    }
    receipt_ = record_id_;
    screen_ = Screen::Receipt;
    notice_ = {};
    return true;
}

// [SECTION] Leave and resume

void KioskModel::open_leave() {
    if (!store_) return;
    touch();
    flush(true);
    screen_ = Screen::Leave;
    notice_ = {};
}

void KioskModel::leave_back() {
    touch();
    if (receipt_.empty()) {
        go_section(section_);
        return;
    }
    screen_ = Screen::Receipt;
    notice_ = {};
}

bool KioskModel::leave_with_pin(const std::string& pin, const std::string& again) {
    touch();
    static const std::regex digits(R"(\d{4,8})");
    if (!std::regex_match(pin, digits)) {
        set_notice("PIN 须为 4 到 8 位数字", "The PIN must be 4 to 8 digits");
        return false;
    }
    if (pin != again) {
        set_notice("两次输入的 PIN 不一致", "The two PINs differ");
        return false;
    }
    flush(true);
    if (!pending_.empty()) return false;
    store_->set_setting("position:" + record_id_, std::to_string(section_)).ok();
    auto code = store_->set_resume_pin(record_id_, pin);
    if (!code.ok()) {
        set_notice("未能保存，请联系工作人员：" + code.error().message, "Could not save; please ask the staff: " + code.error().message);
        return false;
    }
    std::string keep = *code;
    end_session();
    resume_code_ = keep;
    screen_ = Screen::LeaveDone;
    return true;
}

void KioskModel::open_resume() {
    if (!store_) return;
    touch();
    end_session();
    screen_ = Screen::Resume;
}

bool KioskModel::resume(const std::string& code, const std::string& pin) {
    if (!store_) return false;
    touch();
    auto check = store_->check_resume(code, pin);
    if (!check.ok()) {
        set_notice("暂时无法继续，请联系工作人员", "Cannot resume right now; please ask the staff");
        return false;
    }
    if (check->outcome == ResumeOutcome::Locked) {
        set_notice("尝试次数过多，请 " + format_time(check->locked_until_ms) + " 后再试，或联系工作人员",
                   "Too many attempts; try again after " + format_time(check->locked_until_ms) + " or ask the staff");
        return false;
    }
    if (check->outcome != ResumeOutcome::Ok) {
        set_notice("续填码或 PIN 不正确", "The resume code or PIN is not correct");
        return false;
    }
    auto rec = store_->get(check->record_id);
    if (!rec.ok()) {
        set_notice("暂时无法继续，请联系工作人员", "Cannot resume right now; please ask the staff");
        return false;
    }
    if (rec->meta.status != RecordStatus::Draft && rec->meta.status != RecordStatus::Returned) {
        set_notice("该申报已提交，无需继续填写", "This application has already been submitted");
        return false;
    }
    end_session();
    record_id_ = rec->meta.id;
    values_ = rec->data;
    if (const Field* f = commitment_field(form_)) {
        auto it = values_.find(f->id);
        commitment_ = it != values_.end() && it->is_boolean() && it->get<bool>();
    }
    if (auto pos = store_->setting("position:" + record_id_); pos.ok() && *pos) section_ = std::atoi((*pos)->c_str());
    section_ = std::clamp(section_, 0, static_cast<int>(form_.sections.size()) - 1);
    if (rec->meta.status == RecordStatus::Returned) {
        auto log = store_->audit_log(record_id_);
        if (log.ok())
            for (const AuditEntry& e : *log)
                if (e.action == "status:returned") return_comment_ = e.detail;
    }
    screen_ = Screen::Form;
    return true;
}

// [SECTION] Staff

void KioskModel::open_staff_login() {
    if (!store_) return;
    touch();
    end_session();
    screen_ = Screen::StaffLogin;
}

bool KioskModel::staff_login(const std::string& pin) {
    if (!store_) return false;
    touch();
    auto hash = store_->setting("kiosk.staff_pin_hash");
    if (!hash.ok() || !*hash) {
        set_notice("尚未设置工作人员 PIN：请运行 shenbao-store staff-pin", "No staff PIN is set: run `shenbao-store staff-pin`");
        return false;
    }
    if (!verify_pin(**hash, pin)) {
        set_notice("PIN 不正确", "The PIN is not correct");
        return false;
    }
    staff_ = true;
    notice_ = {};
    screen_ = Screen::Staff;
    return true;
}

std::vector<KioskModel::StaffRow> KioskModel::staff_records(std::optional<RecordStatus> status, const std::string& search) const {
    if (!staff_) return {};
    auto metas = store_->list(status);
    return metas.ok() ? staff_rows(*metas, search) : std::vector<StaffRow>{};
}

std::vector<KioskModel::StaffRow> KioskModel::staff_review_queue(const std::string& search) const {
    if (!staff_) return {};
    auto metas = store_->list_review(ReviewQueue::Awaiting);
    return metas.ok() ? staff_rows(*metas, search) : std::vector<StaffRow>{};
}

std::vector<KioskModel::StaffRow> KioskModel::staff_rows(const std::vector<RecordMeta>& metas, const std::string& search) const {
    std::vector<StaffRow> out;
    for (const RecordMeta& m : metas) {
        auto r = store_->get(m.id);
        if (!r.ok()) continue;
        auto text = [&](const char* id) {
            auto it = r->data.find(id);
            return it != r->data.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        StaffRow row{m, text("alliance_name"), text("lead_name")};
        if (!search.empty() && row.name.find(search) == std::string::npos && row.lead.find(search) == std::string::npos &&
            m.id.find(search) == std::string::npos)
            continue;
        out.push_back(std::move(row));
    }
    std::reverse(out.begin(), out.end());  // newest first
    return out;
}

void KioskModel::staff_open(const std::string& record_id) {
    touch();
    if (!staff_) return;
    auto r = store_->get(record_id);
    if (!r.ok()) {
        set_notice("无法打开：" + r.error().message, "Cannot open: " + r.error().message);
        return;
    }
    staff_record_ = std::move(*r);
    load_staff_review();
    screen_ = Screen::StaffRecord;
}

namespace {

// A field value as one line of text for the changes list (tables and choices as JSON), cut for the screen.
std::string change_text(const std::optional<json>& v) {
    if (!v || !is_filled(&*v)) return "";
    std::string s = v->is_string() ? v->get<std::string>() : v->dump();
    return sanitize_input(s, false, 200, nullptr);
}

}  // namespace

void KioskModel::load_staff_review() {
    staff_reviews_.clear();
    staff_changes_.reset();
    if (auto history = store_->reviews(staff_record_.meta.id); history.ok()) staff_reviews_ = std::move(*history);
    // While the applicant is still correcting, there is nothing to compare yet.
    if (staff_record_.meta.status == RecordStatus::Returned) return;
    auto changes = store_->changes_since_return(staff_record_.meta.id);
    if (!changes.ok() || !*changes) return;
    // In form order, so the reviewer reads them as the applicant filled them in.
    std::map<std::string, const FieldChange*> by_id;
    for (const FieldChange& c : **changes) by_id[c.field_id] = &c;
    std::vector<ChangeRow> rows;
    for (const Field* f : form_.all_fields())
        if (auto it = by_id.find(f->id); it != by_id.end()) {
            rows.push_back({f->id, f->label, change_text(it->second->before), change_text(it->second->after)});
            by_id.erase(it);
        }
    for (const auto& [id, c] : by_id) rows.push_back({id, Text{id, id}, change_text(c->before), change_text(c->after)});
    staff_changes_ = std::move(rows);
}

bool KioskModel::staff_can_decide() const {
    return staff_ && staff_record_.meta.status == RecordStatus::Submitted && !staff_record_.review;
}

bool KioskModel::staff_decide(ReviewDecision decision, const std::string& comment) {
    touch();
    if (!staff_ || staff_record_.meta.id.empty()) return false;
    std::string reviewer = sanitize_input(entry_.reviewer, false, 30, nullptr);
    // The name goes into the audit log and the commission's export: no stray spaces around it.
    reviewer.erase(0, std::min(reviewer.size(), reviewer.find_first_not_of(' ')));
    reviewer.erase(reviewer.find_last_not_of(' ') + 1);
    const std::string text = sanitize_input(comment, true, 1000, nullptr);
    if (auto problem = review_input_problem(decision, reviewer, text)) {
        if (reviewer.find_first_not_of(" \t") == std::string::npos)
            set_notice("请填写审核人姓名", "Please give your name as the reviewer");
        else if (decision == ReviewDecision::NotRecommend)
            set_notice("不推荐须写明理由", "Not recommending needs a reason");
        else if (decision == ReviewDecision::Return)
            set_notice("退回须写明需要修改的内容", "Returning needs a comment saying what to correct");
        else
            set_notice("无法记录：" + *problem, "Cannot record: " + *problem);
        return false;
    }
    auto done = store_->review(staff_record_.meta.id, decision, reviewer, text);
    if (!done.ok()) {
        set_notice("未能记录审核意见：" + done.error().message, "The decision was not recorded: " + done.error().message);
        return false;
    }
    staff_open(staff_record_.meta.id);
    switch (decision) {
        case ReviewDecision::Recommend: set_notice("已推荐（将随下次同步报送）", "Recommended (sent with the next sync)"); break;
        case ReviewDecision::Return: set_notice("已退回申请人修改", "Returned to the applicant for corrections"); break;
        case ReviewDecision::NotRecommend: set_notice("已记录不推荐（将随下次同步报送）", "Not recommended (sent with the next sync)"); break;
    }
    return true;
}

KioskModel::SyncStatus KioskModel::sync_status() const {
    SyncStatus s;
    auto n = [&](RecordStatus st) { auto c = store_->count(st); return c.ok() ? *c : 0; };
    auto in_queue = [&](ReviewQueue q) {
        auto c = store_->count_review(q);
        return c.ok() ? *c : 0;
    };
    s.awaiting_review = in_queue(ReviewQueue::Awaiting);
    s.ready = in_queue(ReviewQueue::ReadyToSend);
    s.synced = n(RecordStatus::Synced);
    if (auto q = store_->quarantined(); q.ok()) s.quarantined = std::move(q.value());
    s.queued = n(RecordStatus::Queued) - static_cast<std::int64_t>(s.quarantined.size());
    if (auto st = store_->sync_status(); st.ok()) {
        if (st->last_success_ms) s.last_success = format_time(*st->last_success_ms);
        if (st->last_attempt_ms) s.last_attempt = format_time(*st->last_attempt_ms);
        s.last_error = st->last_error;
        s.live_batches = st->live_batches;
    }
    auto batches = store_->outbox_batches(50);
    for (const OutboxBatch& b : batches.ok() ? *batches : std::vector<OutboxBatch>()) {
        if (b.state != OutboxState::Committed) continue;  // newest first: the first committed one
        auto stored = store_->receipt(b.batch_id);
        json r = stored.ok() && *stored ? json::parse(**stored, nullptr, false) : json();
        if (r.is_object() && r.value("batch_id", "") == b.batch_id && r["records"].is_array()) {
            SyncStatus::Receipt shown;
            shown.batch_id = b.batch_id;
            if (r["received_ms"].is_number_integer()) shown.received = format_time(r["received_ms"].get<std::int64_t>());
            for (const json& rec : r["records"]) {
                if (!rec.is_object()) continue;
                std::string result = rec.value("result", "");
                (result == "accepted" || result == "duplicate" ? shown.synced : shown.refused) += 1;
                shown.record_ids.push_back(rec.value("id", ""));
            }
            shown.signature = r.value("signature", "").substr(0, 16);
            s.last_receipt = std::move(shown);
        }
        break;
    }
    return s;
}

bool KioskModel::staff_release(const std::string& record_id) {
    touch();
    if (!staff_) return false;
    if (Status st = store_->release_quarantined(record_id, "staff"); !st.ok()) {
        set_notice("无法重新发送：" + st.error().message, "Cannot send again: " + st.error().message);
        return false;
    }
    set_notice("已放回待同步队列，将在下次同步时重新发送", "Back in the queue: it will be sent again at the next sync");
    return true;
}

bool KioskModel::staff_save_settings(const Settings& s) {
    touch();
    if (!staff_) return false;
    static const std::regex window(R"(([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)");
    if (s.idle_seconds < 30 || s.idle_seconds > 3600 || !std::regex_match(s.sync_window, window)) {
        set_notice("设置无效：空闲时间 30–3600 秒，同步时段如 01:00-05:00", "Invalid: idle time 30–3600 s, sync window like 01:00-05:00");
        return false;
    }
    bool ok = store_->set_setting("kiosk.idle_seconds", std::to_string(s.idle_seconds)).ok() &&
              store_->set_setting("kiosk.lang", s.lang == Lang::En ? "en" : "zh").ok() &&
              store_->set_setting("sync.window", s.sync_window).ok() &&
              store_->set_setting(kExportDirSetting, s.export_dir).ok() && store_->set_setting(kPrinterSetting, s.printer).ok() &&
              store_->set_setting("paper.recommender", s.recommender).ok() &&
              store_->set_setting("paper.contact", s.contact).ok() && store_->set_setting("paper.phone", s.phone).ok();
    load_settings();
    set_notice(ok ? "设置已保存" : "设置未能保存", ok ? "Settings saved" : "Settings could not be saved");
    return ok;
}

void KioskModel::staff_back() {
    touch();
    if (!staff_) return;
    screen_ = Screen::Staff;
    staff_record_ = {};
    staff_reviews_.clear();
    staff_changes_.reset();
}

// [SECTION] Staff: paper

bool KioskModel::export_folder(std::string* folder) {
    *folder = settings_.export_dir.empty() ? default_export_dir_ : settings_.export_dir;
    if (folder->empty()) {
        set_notice("未设置导出文件夹（设置 → 导出文件夹）", "No export folder is set (Settings → Export folder)");
        return false;
    }
    if (settings_.export_dir.empty()) {  // only the default folder is made; a USB stick must be there
        if (Status st = ensure_dir(*folder); !st.ok()) {
            set_notice("导出失败：" + st.error().message, "Export failed: " + st.error().message);
            return false;
        }
    }
    return true;
}

bool KioskModel::staff_export_summary() {
    touch();
    if (!staff_) return false;
    std::string folder;
    if (!export_folder(&folder)) return false;
    // The district's recommendations (初审: recommend), whatever the overnight sync has
    // done with them since (queued, synced): they are still the district's to summarise.
    auto recommended = store_->list_review(ReviewQueue::Recommended);
    if (!recommended.ok()) {
        set_notice("导出失败：" + recommended.error().message, "Export failed: " + recommended.error().message);
        return false;
    }
    const std::vector<RecordMeta>& rows = *recommended;
    std::vector<SummaryEntry> entries;
    for (const RecordMeta& meta : rows) {
        if (meta.form_id != form_.form_id) continue;
        auto r = store_->get(meta.id);
        if (r.ok()) entries.push_back({std::move(r->data), ""});
    }
    const std::string path = folder + "/" + summary_file_name(now_ms());
    Status st = write_summary_xlsx(form_, entries, SummaryOptions{{settings_.recommender, settings_.contact, settings_.phone}, false}, path);
    if (!st.ok()) {
        set_notice("导出失败：" + st.error().message, "Export failed: " + st.error().message);
        return false;
    }
    last_export_ = path;
    const std::string n = std::to_string(entries.size());
    set_notice("已导出 " + n + " 份申报的推荐汇总表：" + path, "Exported the summary of " + n + " application(s) to " + path);
    return true;
}

bool KioskModel::staff_save_pdf(bool print) {
    touch();
    if (!staff_ || staff_record_.meta.id.empty()) return false;
    std::string folder;
    if (!export_folder(&folder)) return false;
    const std::string path = folder + "/" + application_file_name(staff_record_.meta.id);
    if (Status st = write_application_pdf(form_, staff_record_, path); !st.ok()) {
        set_notice("保存 PDF 失败：" + st.error().message, "Saving the PDF failed: " + st.error().message);
        return false;
    }
    last_export_ = path;
    if (!print) {
        set_notice("PDF 已保存：" + path, "PDF saved: " + path);
        return true;
    }
    const std::string printer = choose_printer(settings_.printer);
    if (printer.empty()) {
        set_notice("未配置打印机，PDF 已保存：" + path, "No printer is configured; the PDF is saved: " + path);
        return false;
    }
    if (Status st = print_file(path, printer); !st.ok()) {
        set_notice("打印失败：" + st.error().message, "Printing failed: " + st.error().message);
        return false;
    }
    set_notice("已发送到打印机 " + printer + "（PDF 保存在 " + path + "）", "Sent to printer " + printer + " (PDF saved at " + path + ")");
    return true;
}

}  // namespace shenbao::kiosk
