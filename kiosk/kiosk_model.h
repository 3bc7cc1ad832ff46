// The kiosk's screens as a model: navigation, what is shown, what each action
// does. No ImGui here — the drawing code (screen_*.cpp) reads this model and
// calls its actions, and the model tests drive it without a window.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shenbao/form.h"
#include "shenbao/store.h"
#include "shenbao/validate.h"

namespace shenbao::kiosk {

// Milliseconds on some monotonic-enough clock; tests pass a fake one.
using Clock = std::function<std::int64_t()>;

enum class Screen {
    Welcome,     // start new / resume / language / staff
    Form,        // one section at a time
    Review,      // every error and the eligibility checklist
    Commitment,  // 承诺 must be confirmed, then submit
    Receipt,     // reference number + QR code
    Leave,       // choose a PIN to save and leave
    LeaveDone,   // shows the resume code
    Resume,      // enter code + PIN
    StaffLogin,
    Staff,       // records by status, sync status, settings
    StaffRecord, // one record read-only with the review panel (初审): decide, see changes since a return
    Fatal,       // the store cannot be opened: staff-facing error naming the file
};

struct Settings {
    int idle_seconds = 120;      // "kiosk.idle_seconds"
    int countdown_seconds = 30;  // warning shown this long before the reset
    Lang lang = Lang::Zh;        // "kiosk.lang": the language a new session starts in
    std::string sync_window = "01:00-05:00";  // "sync.window", read by the agent
    // Paper (staff): where exports go ("paper.export_dir"; empty: <data dir>/exports, made
    // on demand; a configured folder such as a USB stick's mount path must exist), the CUPS
    // printer ("paper.printer"; empty: CUPS's default), and 附件3's header line.
    std::string export_dir, printer;
    std::string recommender, contact, phone;  // "paper.recommender", "paper.contact", "paper.phone"
};

// A changed field reaches the store this long after its first unsaved change at
// the latest: steady typing is saved every 400 ms, a pause within 400 ms, so a
// power cut loses at most the last half second.
inline constexpr std::int64_t kSaveDelayMs = 400;

// Outcome of an edit, for the note under the field.
// Malformed: text that is not well-formed UTF-8 (e.g. from the clipboard) was refused whole.
enum class EditNote { None, Truncated, ControlDropped, Malformed };

class KioskModel {
public:
    // `store` may be null with `fatal_error` set: the model then stays on Screen::Fatal
    // and every action is a no-op.
    KioskModel(Store* store, const FormDefinition& form, Clock clock, std::string fatal_error = "");

    // [SECTION] State read by the drawing code
    Screen screen() const { return screen_; }
    Lang lang() const { return lang_; }
    const FormDefinition& form() const { return form_; }
    const Settings& settings() const { return settings_; }
    const std::string& record_id() const { return record_id_; }
    const nlohmann::json& values() const { return values_; }
    int section() const { return section_; }
    const std::string& fatal_error() const { return fatal_error_; }
    // A transient message for the top of the screen (cleared by the next action).
    const Text& notice() const { return notice_; }
    // Inline issues of a field, shown after the applicant left it (or after a jump from review).
    const std::vector<Issue>& field_issues(const std::string& field_id) const;
    const std::map<std::string, std::vector<Issue>>& all_field_issues() const { return inline_issues_; }
    // The note under a field after the last edit (limit reached, characters dropped).
    EditNote edit_note(const std::string& path) const;
    // Path of the field the drawing should scroll to and focus (after a jump from
    // review); the drawing calls focus_done() once it has.
    const std::string& focus_request() const { return focus_request_; }
    void focus_done() { focus_request_.clear(); }
    // Fields of a section the applicant sees (conditions applied, district fields hidden).
    std::vector<const Field*> visible_fields(int section) const;
    // Filled share of the visible required fields, 0..1, overall and per section.
    double progress() const;
    double section_progress(int section) const;
    bool section_has_issues(int section) const;
    std::vector<Issue> review_issues() const;
    std::vector<EligibilityCheck> eligibility() const;
    bool commitment_confirmed() const;
    const std::string& receipt_reference() const { return receipt_; }
    const std::string& resume_code() const { return resume_code_; }
    // Staff's comment when this record was returned for corrections; empty otherwise.
    const std::string& return_comment() const { return return_comment_; }
    // Seconds left before the idle reset while the warning shows; nullopt otherwise.
    std::optional<int> idle_countdown() const;
    // When the caller should wake up next to call tick() (ms on the model's clock), or nullopt.
    std::optional<std::int64_t> next_wakeup() const;
    bool has_unsaved() const { return !pending_.empty(); }

    // What is being typed on the leave, resume and staff screens (keypad or keyboard).
    // Part of the session: cleared with everything else when it ends.
    struct Entry {
        std::string code, pin, pin_again, staff_pin, comment, search;
        std::string reviewer;  // the staff member's name for review decisions; kept while staff stay signed in
        int target = 0;  // which of the boxes the keypad types into
    };
    Entry& entry() { return entry_; }

    // [SECTION] Applicant actions
    void touch();  // any input at all: postpones the idle reset
    void set_language(Lang lang);
    void start_new();
    // Replaces a top-level field's value (choices, checkboxes, whole tables).
    void set_value(const std::string& field_id, nlohmann::json value);
    // Text typed into a text-like field or a table cell ("council[2].phone"): control
    // characters dropped, cut at the field's limit (the note says so).
    void edit_text(const std::string& path, const std::string& text);
    // The caret of the text being edited (the multi-line editor and the on-screen keyboard
    // type at it): a byte offset on a code point boundary. A field that is not the one being
    // edited has its caret at the end of its text, so typing into it appends.
    std::size_t caret(const std::string& path) const;
    // The text at a text field's path ("" when it holds none).
    const std::string& text(const std::string& path) const;
    void set_caret(const std::string& path, std::size_t byte);
    // Inserts at the caret and moves the caret after the insertion: control characters
    // dropped (newlines kept in multi-line fields), only as much as the field's limit
    // leaves (the note says when cut), malformed UTF-8 refused whole (nothing changes).
    void insert_text(const std::string& path, const std::string& text);
    // Deletes the code point before the caret (backspace) or after it (delete).
    void erase_text(const std::string& path, bool before_caret);
    // Whether an edit is waiting for its save, and whether one was saved since the record opened
    // (the form's "saved" indication).
    bool saved_once() const { return saved_once_; }
    void add_row(const std::string& table_id);
    void remove_row(const std::string& table_id, std::size_t row);
    // Leaving a field: saves it now and shows its issues inline.
    void leave_field(const std::string& field_id);
    void go_section(int section);
    void next_section();
    void prev_section();
    void open_review();
    void jump_to(const Issue& issue);  // back to the form at the issue's field
    void open_commitment();
    void set_commitment(bool confirmed);
    // Submits when nothing blocks it; else stays and sets the notice.
    bool submit();
    // From the form: save and leave. From the receipt: a code and PIN to come back
    // with if the district returns the application for corrections.
    void open_leave();
    // Saves everything and issues a resume code; PIN must be 4–8 digits, typed twice alike.
    bool leave_with_pin(const std::string& pin, const std::string& again);
    // Back from the leave screen: to the form, or to the receipt after a submit.
    void leave_back();
    void open_resume();
    // Restores every field and the position; a wrong code or PIN says only that.
    bool resume(const std::string& code, const std::string& pin);
    // Back to Welcome with nothing of this applicant left in the model.
    void end_session();
    // Flushes due saves and runs the idle timer; call on every wake-up.
    void tick();

    // [SECTION] Staff
    void open_staff_login();
    bool staff_login(const std::string& pin);
    struct StaffRow {
        RecordMeta meta;
        std::string name;  // alliance name
        std::string lead;  // lead unit
    };
    std::vector<StaffRow> staff_records(std::optional<RecordStatus> status, const std::string& search) const;
    // Submitted records without a final decision (the review queue), newest first.
    std::vector<StaffRow> staff_review_queue(const std::string& search) const;
    void staff_open(const std::string& record_id);
    const Record& staff_record() const { return staff_record_; }
    // [SECTION] Preliminary review (初审) of the open record
    // Whether the open record awaits a decision (submitted, no final decision yet).
    bool staff_can_decide() const;
    // Records `decision` by entry().reviewer with `comment` (store.h Store::review):
    // return sends it back to the applicant, recommend / not-recommend are final.
    // A missing name, a missing reason or a record in the wrong state sets the
    // notice and changes nothing; returns whether it was recorded.
    bool staff_decide(ReviewDecision decision, const std::string& comment);
    // The open record's decisions, oldest first.
    const std::vector<ReviewEntry>& staff_reviews() const { return staff_reviews_; }
    // One field the applicant changed since the last return, for the reviewer.
    struct ChangeRow {
        std::string field_id;
        Text label;          // the field's label from the form (its id when the form has no such field)
        std::string before;  // display text, "" when the field was empty or missing
        std::string after;
    };
    // What changed since the open record's last return, in form order, once it is
    // resubmitted; nullopt when it was never returned or is still with the applicant.
    const std::optional<std::vector<ChangeRow>>& staff_changes() const { return staff_changes_; }
    // What the staff screen's sync tab shows. Quarantined records are queued in the
    // store but are not waiting for the agent: they are counted apart, with the
    // commission's reason, until staff release them.
    struct SyncStatus {
        std::int64_t queued = 0, synced = 0, live_batches = 0;
        std::int64_t awaiting_review = 0;  // submitted, no final decision: not sent until reviewed
        std::int64_t ready = 0;            // submitted with a final decision: the agent's next batches
        std::string last_success, last_attempt, last_error;
        std::vector<QuarantineEntry> quarantined;
        // The commission's signed receipt for the newest committed batch (the agent verified
        // its signature before storing it), as staff see it.
        struct Receipt {
            std::string batch_id, received;   // when the commission committed it
            std::int64_t synced = 0, refused = 0;  // accepted or duplicate / conflict or invalid
            std::vector<std::string> record_ids;
            std::string signature;            // the first characters of its Ed25519 signature
        };
        std::optional<Receipt> last_receipt;
    };
    SyncStatus sync_status() const;
    // Sends a quarantined record again in a new batch (after staff fixed the cause).
    bool staff_release(const std::string& record_id);
    bool staff_save_settings(const Settings& s);
    void staff_back();
    // Paper. The folder used when Settings::export_dir is empty (main passes <data dir>/exports).
    void set_default_export_dir(std::string dir) { default_export_dir_ = std::move(dir); }
    // Writes 附件3 of the applications handed in (submitted, queued or synced; oldest
    // first) into the export folder; the notice says where, or why not. (To become
    // the recommended ones once the review decision exists.)
    bool staff_export_summary();
    // Saves the open record's PDF into the export folder and, with `print`, sends it
    // to the printer; the PDF is saved first and kept whatever printing does.
    bool staff_save_pdf(bool print);
    // Path of the last file a paper action wrote; empty when none did.
    const std::string& last_export() const { return last_export_; }

private:
    void flush(bool all);
    void load_settings();
    bool persist_field(const std::string& field_id);
    void set_notice(std::string zh, std::string en);
    void show_issues_for(const std::string& field_id);
    nlohmann::json* cell(const std::string& path, const Field** field);
    const nlohmann::json* find_cell(const std::string& path) const;  // null when the path holds nothing
    // An edit at the caret lands: the text, its note, the caret after it, the save deadline.
    void put_text(const std::string& path, nlohmann::json& slot, std::string value, EditNote note, std::size_t caret);
    std::vector<StaffRow> staff_rows(const std::vector<RecordMeta>& metas, const std::string& search) const;
    void load_staff_review();

    Store* store_;
    const FormDefinition& form_;
    Clock clock_;
    Settings settings_;
    Screen screen_ = Screen::Welcome;
    Lang lang_ = Lang::Zh;
    std::string fatal_error_;
    Text notice_;
    std::string record_id_;
    nlohmann::json values_ = nlohmann::json::object();
    int section_ = 0;
    std::map<std::string, std::int64_t> pending_;  // field id -> save deadline
    std::map<std::string, std::vector<Issue>> inline_issues_;
    std::map<std::string, EditNote> notes_;
    std::string focus_request_;
    std::string caret_path_;   // the field the caret is in
    std::size_t caret_ = 0;
    bool saved_once_ = false;
    bool commitment_ = false;
    std::string receipt_, resume_code_, return_comment_;
    std::int64_t last_input_ms_ = 0;
    bool staff_ = false;
    Record staff_record_;
    std::vector<ReviewEntry> staff_reviews_;
    std::optional<std::vector<ChangeRow>> staff_changes_;
    Entry entry_;
    std::string default_export_dir_, last_export_;
    bool export_folder(std::string* folder);
};

// Drops control characters (keeps newlines where `multiline`) and cuts at
// `max_chars` code points; `note` says what happened.
std::string sanitize_input(const std::string& text, bool multiline, std::size_t max_chars, EditNote* note);

}  // namespace shenbao::kiosk
