// 附件3 推荐汇总表 as an Excel workbook (libxlsxwriter). The sheet follows the
// seed's layout:
//
//   row 0   重庆市产业技术创新联盟推荐汇总表                       (merged, title)
//   row 1   推荐单位（盖章）：…        联系人：… 电话        单位：万元
//   row 2   序号 | 创新联盟名称 | … | 联系人 | 电话          (summary_columns)
//   row 3…  one application per row
//
// libxlsxwriter can only write to a file name, so the workbook is built in a
// private scratch folder and then copied into place with write_export_file().
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "shenbao/paper.h"
#include "shenbao/validate.h"

namespace shenbao {

namespace {

constexpr lxw_row_t kTitleRow = 0, kHeaderLineRow = 1, kColumnsRow = 2, kFirstDataRow = 3;
// Excel's own limits: text per cell and row height in points.
constexpr std::size_t kMaxCellBytes = 32767;
constexpr double kMaxRowHeight = 409;

// A scratch folder under $TMPDIR, removed with its contents at scope exit.
class Scratch {
public:
    Scratch() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "shenbao-xlsx-XXXXXX").string();
        if (::mkdtemp(tmpl.data())) path_ = tmpl;
    }
    ~Scratch() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

enum class CellKind { Text, Integer, Decimal };

struct ColumnPlan {
    std::string label;
    CellKind kind = CellKind::Text;
    int decimals = 0;
    double width = 20;  // in Excel character units
};

ColumnPlan plan_column(const FormDefinition& form, const SummaryColumn& c) {
    ColumnPlan p{c.label.zh};
    if (c.kind == DerivationKind::RowNumber) return {c.label.zh, CellKind::Integer, 0, 5};
    if (c.kind == DerivationKind::Join) return {c.label.zh, CellKind::Text, 0, 30};
    const Field* f = c.fields.empty() ? nullptr : form.find_field(c.fields.front());
    if (c.kind == DerivationKind::Sum) {
        bool money = f && (f->type == FieldType::Money || f->type == FieldType::Decimal);
        return {c.label.zh, money ? CellKind::Decimal : CellKind::Integer, money ? 2 : 0, 12};
    }
    if (!f) return p;
    switch (f->type) {
        case FieldType::Integer: return {c.label.zh, CellKind::Integer, 0, 12};
        case FieldType::Money: return {c.label.zh, CellKind::Decimal, 2, 12};
        case FieldType::Decimal: return {c.label.zh, CellKind::Decimal, f->precision, 12};
        case FieldType::Multiline: return {c.label.zh, CellKind::Text, 0, 50};
        case FieldType::Phone: return {c.label.zh, CellKind::Text, 0, 15};
        default: break;
    }
    // Short labels (联系人) hold short values (a person's name); others hold unit names.
    p.width = c.label.zh.size() <= 9 ? 10 : 24;
    return p;
}

// Display width in Excel character units: a CJK character takes about two.
double display_width(const std::string& s) {
    double w = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) w += 1;
        else if (c >= 0xC0) w += (c >= 0xE0 ? 2 : 1);  // lead byte: 3- and 4-byte sequences are wide
    }
    return w;
}

// Lines a wrapped cell needs at `width` characters, counting explicit line breaks.
int lines_needed(const std::string& text, double width) {
    int lines = 0;
    std::stringstream ss(text);
    std::string part;
    // About `width` units fit on a line at 11 pt.
    while (std::getline(ss, part, '\n')) lines += std::max(1, static_cast<int>(std::ceil(display_width(part) / std::max(1.0, width))));
    return std::max(1, lines);
}

// Cuts at Excel's per-cell limit without splitting a UTF-8 sequence.
std::string fit_cell(std::string s) {
    if (s.size() <= kMaxCellBytes) return s;
    std::size_t cut = kMaxCellBytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    return s;
}

Error xlsx_error(const std::string& path, lxw_error e) {
    return {ErrorCode::Io, path + ": the spreadsheet could not be built (" + lxw_strerror(e) + "); nothing was written"};
}

struct Formats {
    lxw_format *title, *header_line, *header_line_right, *column_head, *text, *center, *integer, *decimal[4];
};

Formats make_formats(lxw_workbook* wb) {
    auto base = [&](bool border) {
        lxw_format* f = workbook_add_format(wb);
        format_set_font_name(f, "宋体");
        format_set_font_size(f, 11);
        format_set_align(f, LXW_ALIGN_VERTICAL_CENTER);
        format_set_text_wrap(f);
        if (border) format_set_border(f, LXW_BORDER_THIN);
        return f;
    };
    Formats fm{};
    fm.title = base(false);
    format_set_font_name(fm.title, "黑体");
    format_set_font_size(fm.title, 18);
    format_set_bold(fm.title);
    format_set_align(fm.title, LXW_ALIGN_CENTER);
    fm.header_line = base(false);
    fm.header_line_right = base(false);
    format_set_align(fm.header_line_right, LXW_ALIGN_RIGHT);
    fm.column_head = base(true);
    format_set_font_name(fm.column_head, "黑体");
    format_set_bold(fm.column_head);
    format_set_align(fm.column_head, LXW_ALIGN_CENTER);
    format_set_bg_color(fm.column_head, 0xF2F2F2);
    fm.text = base(true);
    fm.center = base(true);
    format_set_align(fm.center, LXW_ALIGN_CENTER);
    fm.integer = base(true);
    format_set_align(fm.integer, LXW_ALIGN_CENTER);
    format_set_num_format(fm.integer, "0");
    static const char* decimal_formats[] = {"0", "0.0", "0.00", "0.000"};
    for (int i = 0; i < 4; ++i) {
        fm.decimal[i] = base(true);
        format_set_align(fm.decimal[i], LXW_ALIGN_RIGHT);
        format_set_num_format(fm.decimal[i], decimal_formats[i]);
    }
    return fm;
}

// Writes the header line: 推荐单位（盖章）, 联系人 (with phone) and 单位：万元 spread across the columns.
lxw_error write_header_line(lxw_worksheet* ws, const Formats& fm, const SummaryHeader& h, lxw_col_t last) {
    std::string contact = "联系人：" + h.contact + (h.phone.empty() ? "" : "  " + h.phone);
    lxw_col_t third = static_cast<lxw_col_t>((last + 1) / 3);
    lxw_col_t a_end = std::max<lxw_col_t>(third, 1), b_end = std::max<lxw_col_t>(a_end + 1, static_cast<lxw_col_t>(last - 2));
    if (b_end >= last) b_end = last - 1;
    lxw_error e = worksheet_merge_range(ws, kHeaderLineRow, 0, kHeaderLineRow, a_end, ("推荐单位（盖章）：" + h.recommender).c_str(), fm.header_line);
    if (e == LXW_NO_ERROR) e = worksheet_merge_range(ws, kHeaderLineRow, a_end + 1, kHeaderLineRow, b_end, contact.c_str(), fm.header_line);
    if (e == LXW_NO_ERROR) e = worksheet_merge_range(ws, kHeaderLineRow, b_end + 1, kHeaderLineRow, last, "单位：万元", fm.header_line_right);
    return e;
}

lxw_error write_cell(lxw_worksheet* ws, const Formats& fm, lxw_row_t row, lxw_col_t col, const ColumnPlan& p, const std::string& text) {
    if (text.empty()) return worksheet_write_blank(ws, row, col, p.kind == CellKind::Text ? fm.text : fm.center);
    if (p.kind != CellKind::Text) {
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        if (end && *end == '\0' && std::isfinite(v)) {
            lxw_format* f = p.kind == CellKind::Integer ? fm.integer : fm.decimal[std::clamp(p.decimals, 0, 3)];
            return worksheet_write_number(ws, row, col, v, f);
        }
    }
    // write_string never turns "=…" into a formula: typed text stays text.
    return worksheet_write_string(ws, row, col, fit_cell(text).c_str(), fm.text);
}

Result<std::string> build_workbook(const FormDefinition& form, const std::vector<SummaryEntry>& entries,
                                   const SummaryOptions& options, const std::string& scratch, const std::string& path) {
    std::vector<ColumnPlan> plan;
    for (const SummaryColumn& c : form.summary_columns) plan.push_back(plan_column(form, c));
    if (options.district_column) plan.insert(plan.begin() + (plan.empty() ? 0 : 1), ColumnPlan{"区县", CellKind::Text, 0, 12});
    if (plan.size() < 4) return Error{ErrorCode::InvalidForm, form.form_id + ": the form has too few summary_columns for 附件3"};

    const std::string file = scratch + "/summary.xlsx";
    lxw_workbook_options wo{};
    wo.tmpdir = const_cast<char*>(scratch.c_str());
    lxw_workbook* wb = workbook_new_opt(file.c_str(), &wo);
    if (!wb) return Error{ErrorCode::Io, path + ": the spreadsheet could not be started (out of memory or no temporary folder)"};
    lxw_worksheet* ws = workbook_add_worksheet(wb, "推荐汇总表");
    Formats fm = make_formats(wb);
    const lxw_col_t last = static_cast<lxw_col_t>(plan.size() - 1);

    lxw_error e = worksheet_merge_range(ws, kTitleRow, 0, kTitleRow, last, "重庆市产业技术创新联盟推荐汇总表", fm.title);
    worksheet_set_row(ws, kTitleRow, 36, nullptr);
    if (e == LXW_NO_ERROR) e = write_header_line(ws, fm, options.header, last);
    worksheet_set_row(ws, kHeaderLineRow, 24, nullptr);
    for (lxw_col_t c = 0; c <= last && e == LXW_NO_ERROR; ++c) {
        worksheet_set_column(ws, c, c, plan[c].width, nullptr);
        e = worksheet_write_string(ws, kColumnsRow, c, plan[c].label.c_str(), fm.column_head);
    }
    worksheet_set_row(ws, kColumnsRow, 45, nullptr);

    lxw_row_t row = kFirstDataRow;
    for (std::size_t i = 0; i < entries.size() && e == LXW_NO_ERROR; ++i, ++row) {
        std::vector<std::string> cells = entries[i].data.is_object()
                                             ? summary_row(form, entries[i].data, static_cast<int>(i + 1))
                                             : summary_row(form, nlohmann::json::object(), static_cast<int>(i + 1));
        if (options.district_column) cells.insert(cells.begin() + 1, entries[i].district);
        int lines = 1;
        for (lxw_col_t c = 0; c <= last && e == LXW_NO_ERROR; ++c) {
            const std::string& text = c < cells.size() ? cells[c] : std::string();
            e = write_cell(ws, fm, row, c, plan[c], text);
            if (plan[c].kind == CellKind::Text) lines = std::max(lines, lines_needed(text, plan[c].width));
        }
        // Spreadsheet programs do not grow rows for wrapped text on their own when printing.
        worksheet_set_row(ws, row, std::min(kMaxRowHeight, std::max(22.0, 14.0 * lines + 8)), nullptr);
    }
    if (e != LXW_NO_ERROR) {
        workbook_close(wb);
        return xlsx_error(path, e);
    }

    worksheet_set_landscape(ws);
    worksheet_set_paper(ws, 9);  // A4
    worksheet_set_margins(ws, 0.4, 0.4, 0.6, 0.6);
    worksheet_center_horizontally(ws);
    worksheet_repeat_rows(ws, kColumnsRow, kColumnsRow);
    worksheet_fit_to_pages(ws, 1, 0);
    worksheet_set_footer(ws, "&C第 &P 页 共 &N 页");
    worksheet_freeze_panes(ws, kFirstDataRow, 0);
    lxw_doc_properties props{};
    props.title = const_cast<char*>("重庆市产业技术创新联盟推荐汇总表");
    props.author = const_cast<char*>("Shenbao");
    workbook_set_properties(wb, &props);

    e = workbook_close(wb);
    if (e != LXW_NO_ERROR) return xlsx_error(path, e);
    std::ifstream in(file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in.good() && !in.eof()) return Error{ErrorCode::Io, file + ": cannot read the finished spreadsheet back"};
    return bytes.str();
}

}  // namespace

Status write_summary_xlsx(const FormDefinition& form, const std::vector<SummaryEntry>& entries,
                          const SummaryOptions& options, const std::string& path) {
    if (entries.size() > kMaxSummaryRows)
        return Error{ErrorCode::LimitExceeded, path + ": " + std::to_string(entries.size()) + " applications are more than the " +
                                                   std::to_string(kMaxSummaryRows) + " one summary table takes; export fewer (e.g. by status)"};
    Scratch scratch;
    if (scratch.path().empty())
        return Error{ErrorCode::Io, path + ": no temporary folder to build the spreadsheet in (check $TMPDIR)"};
    auto bytes = build_workbook(form, entries, options, scratch.path(), path);
    if (!bytes.ok()) return bytes.error();
    return write_export_file(path, *bytes);
}

}  // namespace shenbao
