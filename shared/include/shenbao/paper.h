// Paper for the district office (library shenbao::paper, not part of the core so
// that the core and the sync agent never link cairo): the recommendation summary
// table (附件3 推荐汇总表) as an Excel workbook, one filled application (附件1 申报表
// + 附件2 建设运行报告) as a printable A4 PDF, and handing a PDF to CUPS.
//
// Every file is written the same careful way: a temporary name in the target
// folder, fsync, rename, fsync of the folder. A missing, read-only or full folder
// gives an error naming the folder and what to do, and leaves no partial file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shenbao/form.h"
#include "shenbao/result.h"
#include "shenbao/store.h"

namespace shenbao {

// [SECTION] The summary table (附件3)

// The header line of 附件3, typed by district staff: 推荐单位（盖章）, 联系人 (and phone).
struct SummaryHeader {
    std::string recommender;  // 推荐单位, e.g. "渝北区经济和信息化委员会"
    std::string contact;      // 联系人
    std::string phone;        // the contact's phone, shown after the name
};

// One application of the summary: its field values and, for the commission's
// table across districts, the district it came from.
struct SummaryEntry {
    nlohmann::json data;   // {field_id: value}, as stored
    std::string district;  // shown only when SummaryOptions::district_column
};

struct SummaryOptions {
    SummaryHeader header;
    bool district_column = false;  // the intake's table across districts: a 区县 column after 序号
};

// More rows than this are refused (LimitExceeded) rather than building a huge workbook.
inline constexpr std::size_t kMaxSummaryRows = 100000;

// Writes 附件3 as .xlsx at `path`: merged title, the header line, the form's
// summary_columns in order, one row per entry in the given order (序号 1..n),
// cells derived by summary_row() — a missing or invalid value gives an empty
// cell and the application is still listed. Numbers are numeric cells. A4
// landscape, header row repeated on every page, fit to one page wide.
Status write_summary_xlsx(const FormDefinition& form, const std::vector<SummaryEntry>& entries,
                          const SummaryOptions& options, const std::string& path);

// [SECTION] The filled application as PDF

// Renders one application as PDF bytes: 附件1 as ruled label/value tables (member
// tables, council table, one table per main member, the commitment with room for
// signature, stamp and date), then the 附件2 report sections. A4 portrait, Noto
// CJK fonts embedded, `reference` (the record id, which is the kiosk's receipt
// reference) and its QR code on every page, "第 N 页 共 M 页" in every footer.
// Missing or invalid values print as blank cells; only hidden fields are left out.
// `pages`, when given, receives the page count.
Result<std::string> render_application_pdf(const FormDefinition& form, const nlohmann::json& data,
                                           const std::string& reference, int* pages = nullptr);

// render_application_pdf() of `record` (reference: its id) written to `path`.
Status write_application_pdf(const FormDefinition& form, const Record& record, const std::string& path);

// [SECTION] Files, folders and printing

// The export folder when none is configured: <data_dir>/exports.
std::string default_export_dir(const std::string& data_dir);

// Store settings the kiosk's staff mode reads (the CLI takes options instead).
inline constexpr const char* kExportDirSetting = "paper.export_dir";  // e.g. a USB stick's mount path
inline constexpr const char* kPrinterSetting = "paper.printer";       // CUPS queue name; empty: CUPS default

// File names inside the export folder (ASCII, so any USB stick takes them).
std::string summary_file_name(std::int64_t at_ms);           // summary-YYYYMMDD-HHMMSS.xlsx (local time)
std::string application_file_name(const std::string& id);    // application-<id>.pdf

// Writes `bytes` to `path` atomically (see the top of this header). Errors:
// DiskFull for a full folder, Io for a missing or read-only one; each names the
// folder and says what to do. Never leaves the temporary file behind.
Status write_export_file(const std::string& path, std::string_view bytes);

// The printer to use: `configured` when not empty, else CUPS's default
// destination (`lpstat -d`), else "" — no printer: save only.
std::string choose_printer(const std::string& configured);

// Sends an already saved file to `printer` with `lp -d printer -- path`. The
// file stays where it is whatever happens; an error quotes what lp said.
Status print_file(const std::string& path, const std::string& printer);

}  // namespace shenbao
