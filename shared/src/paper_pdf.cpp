// One filled application as an A4 PDF (cairo + pango; fonts through fontconfig,
// embedded as subsets by cairo; QR codes from libqrencode).
//
// [SECTION] index
//   Page geometry and fonts   sizes in PDF points (1/72 inch)
//   Text                      UTF-8 clean-up, pango layouts, value wording
//   Document                  pages with header (reference + QR) and footer (第 N 页 共 M 页),
//                             ruled rows, rows that split across pages, headings
//   附件1                      label/value grid per section, small tables, one table per
//                             main member, the commitment with signature and stamp room
//   附件2                      report headings and wrapped paragraphs
//   Rendering                 two passes: the first counts the pages for "共 M 页"
//
// The layout is driven by the form definition, so every visible field is printed
// (a hidden field, per FORMAT.md, is not part of the application).
#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>
#include <qrencode.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "shenbao/paper.h"
#include "shenbao/validate.h"

namespace shenbao {

namespace {

using nlohmann::json;

// ============================================================ [SECTION] Page geometry and fonts

constexpr double kPageW = 595.276, kPageH = 841.890;  // A4 portrait
constexpr double kLeft = 50, kRight = 50, kTop = 84, kBottom = 58;
constexpr double kWidth = kPageW - kLeft - kRight;
constexpr double kPad = 4;       // inside a cell
constexpr double kRule = 0.6;    // table lines
constexpr double kQrSize = 58;

enum class Face { Sans, SansBold, Serif };

struct Font {
    Face face;
    double size;
};

constexpr Font kLabelFont{Face::Sans, 9};
constexpr Font kValueFont{Face::Serif, 9.5};
constexpr Font kBandFont{Face::SansBold, 10.5};
constexpr Font kTitleFont{Face::SansBold, 17};
constexpr Font kSmallFont{Face::Sans, 8};
constexpr Font kReportFont{Face::Serif, 10.5};
constexpr Font kReportHeadFont{Face::SansBold, 11};

// Sign: a value set to the right, like a signature line; Figure: a value centred under its head.
enum class Style { Label, Value, Head, Band, Sign, Figure };

// ============================================================ [SECTION] Text

// Valid UTF-8 without control characters other than line breaks and tabs: pango
// refuses invalid text and would draw control characters as hex boxes.
std::string clean(const std::string& in) {
    gchar* valid = g_utf8_make_valid(in.c_str(), static_cast<gssize>(in.size()));
    std::string out;
    for (const char* p = valid; *p; ++p) {
        unsigned char c = static_cast<unsigned char>(*p);
        if (c < 0x20 && c != '\n' && c != '\t') continue;
        if (c == 0x7F) continue;
        out += *p;
    }
    g_free(valid);
    return out;
}

struct GObjectDeleter {
    void operator()(void* p) const { g_object_unref(p); }
};
using LayoutPtr = std::unique_ptr<PangoLayout, GObjectDeleter>;

const json* value_of(const json& data, const std::string& id) {
    auto it = data.find(id);
    return it == data.end() ? nullptr : &*it;
}

std::string date_text(const std::string& iso) {
    // YYYY-MM-DD, already validated: printed the way the seed's forms write dates.
    return iso.substr(0, 4) + "年" + iso.substr(5, 2) + "月" + iso.substr(8, 2) + "日";
}

std::string boxes(const Field& f, const json& v) {
    std::string out;
    for (const Option& o : f.options) {
        bool on = v.is_string() ? v.get<std::string>() == o.value
                                : v.is_array() && std::find(v.begin(), v.end(), json(o.value)) != v.end();
        out += (out.empty() ? "" : "　") + std::string(on ? "■" : "□") + o.label.zh;
    }
    return out;
}

// The printed wording of a value that passed its checks ("" when not filled).
std::string wording(const Field& f, const json* v) {
    if (!is_filled(v)) return "";
    switch (f.type) {
        case FieldType::Choice:
        case FieldType::MultiChoice: return boxes(f, *v);
        case FieldType::Checkbox:
        case FieldType::Commitment: return v->is_boolean() && v->get<bool>() ? "■是" : "□是";
        case FieldType::Date: return v->is_string() && v->get<std::string>().size() == 10 ? date_text(v->get<std::string>()) : "";
        default: break;
    }
    std::string s = v->is_string() ? v->get<std::string>() : v->is_number() ? v->dump() : "";
    if (!s.empty() && !f.unit.empty()) s += " " + f.unit;
    return s;
}

// A top-level field's wording; a value that breaks its field's checks prints blank.
std::string field_text(const FormDefinition& form, const Field& f, const json& data) {
    for (const Issue& i : validate_field(form, f, data))
        if (i.kind != IssueKind::Missing) return "";
    return wording(f, value_of(data, f.id));
}

// A table cell's wording; a cell of the wrong JSON type prints blank.
std::string cell_text(const Field& col, const json& row) {
    const json* v = row.is_object() ? value_of(row, col.id) : nullptr;
    if (!is_filled(v)) return "";
    bool want_string = col.type != FieldType::MultiChoice && col.type != FieldType::Checkbox && col.type != FieldType::Commitment;
    if (want_string && !v->is_string() && !(col.is_numeric() && v->is_number())) return "";
    if (col.type == FieldType::Date && (!v->is_string() || v->get<std::string>().size() != 10)) return "";
    return wording(col, v);
}

// Width of text in "characters" where a CJK character counts two: picks grid layouts.
std::size_t text_width(const std::string& s) {
    std::size_t w = 0;
    for (unsigned char c : s) {
        if (c < 0x80) ++w;
        else if (c >= 0xE0) w += 2;
    }
    return w;
}

// ============================================================ [SECTION] Document

struct CellSpec {
    std::string text;
    double frac;  // share of the content width
    Style style = Style::Value;
};

class Document {
public:
    Document(cairo_t* cr, std::string reference, int total_pages)
        : cr_(cr), reference_(clean(reference)), total_(total_pages) {
        ctx_ = pango_cairo_create_context(cr_);
        cairo_font_options_t* fo = cairo_font_options_create();
        // Metrics from the outlines, not the hinting: the same layout on every surface.
        cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
        cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
        pango_cairo_context_set_font_options(ctx_, fo);
        cairo_font_options_destroy(fo);
        begin_page();
    }
    ~Document() { g_object_unref(ctx_); }
    Document(const Document&) = delete;
    Document& operator=(const Document&) = delete;

    int pages() const { return page_; }
    void finish() { cairo_show_page(cr_); }

    void new_page() {
        cairo_show_page(cr_);
        begin_page();
    }
    bool at_top() const { return y_ <= kTop + 0.01; }
    double room() const { return kPageH - kBottom - y_; }
    void gap(double h) { y_ = std::min(y_ + h, kPageH - kBottom); }
    // Starts a new page unless `h` more points fit on this one.
    void need(double h) {
        if (h > room() && !at_top()) new_page();
    }

    LayoutPtr layout(const std::string& text, double width, Font font, PangoAlignment align = PANGO_ALIGN_LEFT,
                     double indent = 0) {
        LayoutPtr l(pango_layout_new(ctx_));
        PangoFontDescription* d = pango_font_description_new();
        pango_font_description_set_family(d, font.face == Face::Serif ? "Noto Serif CJK SC" : "Noto Sans CJK SC");
        pango_font_description_set_weight(d, font.face == Face::SansBold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
        pango_font_description_set_size(d, static_cast<gint>(font.size * PANGO_SCALE));
        pango_layout_set_font_description(l.get(), d);
        pango_font_description_free(d);
        pango_layout_set_width(l.get(), pango_units_from_double(std::max(1.0, width)));
        pango_layout_set_wrap(l.get(), PANGO_WRAP_WORD_CHAR);
        pango_layout_set_alignment(l.get(), align);
        pango_layout_set_indent(l.get(), pango_units_from_double(indent));
        PangoAttrList* attrs = pango_attr_list_new();
        // A word broken at a cell's edge must not gain a hyphen the applicant never typed.
        pango_attr_list_insert(attrs, pango_attr_insert_hyphens_new(FALSE));
        pango_layout_set_attributes(l.get(), attrs);
        pango_attr_list_unref(attrs);
        std::string t = clean(text);
        pango_layout_set_text(l.get(), t.c_str(), static_cast<int>(t.size()));
        return l;
    }

    static double height(PangoLayout* l) {
        int w = 0, h = 0;
        pango_layout_get_size(l, &w, &h);
        return pango_units_to_double(h);
    }

    void show(PangoLayout* l, double x, double y) {
        cairo_move_to(cr_, x, y);
        pango_cairo_show_layout(cr_, l);
    }

    // One ruled row of cells. A row taller than a page (only possible with
    // absurd input) is cut with an ellipsis rather than running off the paper.
    void row(const std::vector<CellSpec>& cells, double min_h = 0) {
        std::vector<LayoutPtr> ls;
        double h = min_h;
        for (const CellSpec& c : cells) {
            // A signature line stops short of the right edge, where the stamp goes.
            double inset = c.style == Style::Sign ? 4 * kPad : 0;
            ls.push_back(layout(c.text, c.frac * kWidth - 2 * kPad - inset, font_of(c.style), align_of(c.style)));
            h = std::max(h, height(ls.back().get()) + 2 * kPad);
        }
        const double page_room = kPageH - kBottom - kTop;
        if (h > page_room) {
            h = page_room;
            for (auto& l : ls) {
                pango_layout_set_height(l.get(), pango_units_from_double(page_room - 2 * kPad));
                pango_layout_set_ellipsize(l.get(), PANGO_ELLIPSIZE_END);
            }
        }
        need(h);
        double x = kLeft;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            double w = cells[i].frac * kWidth;
            frame(x, y_, w, h, cells[i].style);
            double th = height(ls[i].get());
            show(ls[i].get(), x + kPad, y_ + std::max(kPad, (h - th) / 2));
            x += w;
        }
        y_ += h;
    }

    // A label cell and a value cell whose text may run over several pages: the
    // value is cut between lines, and the label repeats as "（续）" on later pages.
    // With an empty label the value takes the full width; unframed it is plain text.
    void flow(const std::string& label, const std::string& text, double label_frac, bool framed, Font font,
              double indent = 0, double min_h = 0) {
        const double lw = label.empty() ? 0 : label_frac * kWidth, vw = kWidth - lw;
        const double pad = framed ? kPad : 0;
        LayoutPtr value = layout(text, vw - 2 * pad, font, PANGO_ALIGN_LEFT, indent);
        LayoutPtr head = layout(label, lw - 2 * kPad, kLabelFont, PANGO_ALIGN_CENTER);
        struct Line {
            PangoLayoutLine* line;
            double top, bottom, baseline, x;
        };
        std::vector<Line> lines;
        PangoLayoutIter* it = pango_layout_get_iter(value.get());
        do {
            PangoRectangle r;
            pango_layout_iter_get_line_extents(it, nullptr, &r);
            lines.push_back({pango_layout_iter_get_line_readonly(it), pango_units_to_double(r.y),
                             pango_units_to_double(r.y + r.height), pango_units_to_double(pango_layout_iter_get_baseline(it)),
                             pango_units_to_double(r.x)});
        } while (pango_layout_iter_next_line(it));
        pango_layout_iter_free(it);
        if (text.empty()) lines.clear();

        const double head_h = label.empty() ? 0 : height(head.get()) + 2 * kPad;
        std::size_t i = 0;
        bool first = true;
        while (first || i < lines.size()) {
            const double avail = room() - 2 * pad;
            std::size_t j = i;
            while (j < lines.size() && lines[j].bottom - lines[i].top <= avail) ++j;
            // Start on a fresh page rather than leave a lone first line (or nothing) here.
            bool too_little = (i < lines.size() && j == i) || (first && j - i < std::min<std::size_t>(2, lines.size() - i)) ||
                              (first && std::max(head_h, min_h) > room());
            if (too_little && !at_top()) {
                new_page();
                continue;
            }
            if (j == i && i < lines.size()) j = i + 1;
            double body = j > i ? lines[j - 1].bottom - lines[i].top : 0;
            double h = body + 2 * pad;
            if (first) h = std::max({h, head_h, min_h});
            LayoutPtr cont;
            if (!first && lw > 0) {
                cont = layout(label + "（续）", lw - 2 * kPad, kLabelFont, PANGO_ALIGN_CENTER);
                h = std::max(h, height(cont.get()) + 2 * kPad);
            }
            h = std::min(h, std::max(room(), 0.0));
            if (framed) {
                if (lw > 0) frame(kLeft, y_, lw, h, Style::Label);
                frame(kLeft + lw, y_, vw, h, Style::Value);
            }
            if (lw > 0) {
                PangoLayout* shown = first ? head.get() : cont.get();
                show(shown, kLeft + kPad, y_ + std::max(kPad, (std::min(h, 160.0) - height(shown)) / 2));
            }
            for (std::size_t k = i; k < j; ++k) {
                cairo_move_to(cr_, kLeft + lw + pad + lines[k].x, y_ + pad + lines[k].baseline - lines[i].top);
                pango_cairo_show_layout_line(cr_, lines[k].line);
            }
            y_ += h;
            i = j;
            first = false;
        }
    }

    // Unruled text across the content width (titles, headings, notes).
    void text(const std::string& t, Font font, PangoAlignment align = PANGO_ALIGN_LEFT, double space_after = 4) {
        LayoutPtr l = layout(t, kWidth, font, align);
        double h = height(l.get());
        need(h);
        show(l.get(), kLeft, y_);
        y_ += h + space_after;
    }

    // A heading that must not end a page alone: it moves with room for `keep` below it.
    void heading(const std::string& t, Font font, double keep = 40) {
        LayoutPtr l = layout(t, kWidth, font);
        double h = height(l.get());
        need(h + keep);
        show(l.get(), kLeft, y_);
        y_ += h + 4;
    }

private:
    static Font font_of(Style s) {
        switch (s) {
            case Style::Label: return kLabelFont;
            case Style::Head: return kLabelFont;
            case Style::Band: return kBandFont;
            default: return kValueFont;
        }
    }
    static PangoAlignment align_of(Style s) {
        if (s == Style::Sign) return PANGO_ALIGN_RIGHT;
        if (s == Style::Figure) return PANGO_ALIGN_CENTER;
        return s == Style::Value || s == Style::Band ? PANGO_ALIGN_LEFT : PANGO_ALIGN_CENTER;
    }

    void frame(double x, double y, double w, double h, Style s) {
        if (s != Style::Value && s != Style::Sign && s != Style::Figure) {
            double shade = s == Style::Band ? 0.88 : s == Style::Head ? 0.93 : 0.96;
            cairo_set_source_rgb(cr_, shade, shade, shade);
            cairo_rectangle(cr_, x, y, w, h);
            cairo_fill(cr_);
        }
        cairo_set_source_rgb(cr_, 0, 0, 0);
        cairo_set_line_width(cr_, kRule);
        cairo_rectangle(cr_, x, y, w, h);
        cairo_stroke(cr_);
    }

    void draw_qr(double x, double y, double size) {
        QRcode* q = QRcode_encodeString(reference_.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
        if (!q) return;  // no reference to encode (or out of memory): the text still shows it
        const int n = q->width;
        const double m = size / (n + 4);  // two modules of quiet zone on each side (white page around it)
        cairo_set_source_rgb(cr_, 0, 0, 0);
        for (int r = 0; r < n; ++r)
            for (int c = 0; c < n; ++c)
                if (q->data[r * n + c] & 1) cairo_rectangle(cr_, x + (c + 2) * m, y + (r + 2) * m, m, m);
        cairo_fill(cr_);
        QRcode_free(q);
    }

    void begin_page() {
        ++page_;
        y_ = kTop;
        cairo_set_source_rgb(cr_, 0.25, 0.25, 0.25);
        LayoutPtr what = layout("重庆市产业技术创新联盟申报材料", kWidth - kQrSize - 10, kSmallFont);
        show(what.get(), kLeft, 34);
        LayoutPtr ref = layout("申报编号：" + reference_, kWidth - kQrSize - 10, kLabelFont);
        show(ref.get(), kLeft, 50);
        if (!reference_.empty()) draw_qr(kPageW - kRight - kQrSize + 4, 18, kQrSize);
        cairo_set_source_rgb(cr_, 0, 0, 0);
        cairo_set_line_width(cr_, 0.8);
        cairo_move_to(cr_, kLeft, kTop - 6);
        cairo_line_to(cr_, kPageW - kRight, kTop - 6);
        cairo_stroke(cr_);
        // The first pass does not know the total yet; it only counts pages.
        std::string foot = "第 " + std::to_string(page_) + " 页 共 " + (total_ > 0 ? std::to_string(total_) : "?") + " 页";
        LayoutPtr f = layout(foot, kWidth, kLabelFont, PANGO_ALIGN_CENTER);
        show(f.get(), kLeft, kPageH - kBottom + 22);
    }

    cairo_t* cr_;
    PangoContext* ctx_ = nullptr;
    std::string reference_;
    int total_ = 0, page_ = 0;
    double y_ = kTop;
};

// ============================================================ [SECTION] 附件1

constexpr double kLabelFrac = 0.2;

bool shown(const Field& f, const json& data) { return is_visible(f, data); }

// Whether a scalar value needs a whole row rather than half of one.
bool wide(const Field& f, const std::string& text) {
    return f.type == FieldType::Choice || f.type == FieldType::MultiChoice || text_width(text) > 44;
}

// A run of at least this many figures in a row prints as a table of figures:
// their labels across, the values beneath (the seed's 经济指标, 知识产权 rows).
constexpr std::size_t kFigureRun = 3, kFiguresPerRow = 5;

// Figures of one kind go in one table: sums of money (万元, 万美元) together, else by unit (人, 项, 家).
bool same_kind(const Field& a, const Field& b) {
    bool money_a = a.type == FieldType::Money, money_b = b.type == FieldType::Money;
    return money_a || money_b ? money_a == money_b : a.unit == b.unit;
}

// Scalar fields as label/value pairs, two to a row where they fit, and runs of
// figures as label-over-value tables. `text_of` gives a field's wording
// (top-level fields and a member table's cells differ).
template <typename TextOf>
void grid(Document& d, const std::vector<const Field*>& fields, TextOf text_of) {
    const Field* pending = nullptr;
    std::string pending_text;
    auto flush = [&] {
        if (pending) d.row({{pending->label.zh, kLabelFrac, Style::Label}, {pending_text, 1 - kLabelFrac}});
        pending = nullptr;
    };
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const Field* f = fields[i];
        std::size_t run = 0;
        while (i + run < fields.size() && fields[i + run]->is_numeric() && same_kind(*f, *fields[i + run])) ++run;
        if (run >= kFigureRun) {
            flush();
            // As few rows as needed, as evenly filled as possible (7 figures: 4 + 3).
            const std::size_t rows = (run + kFiguresPerRow - 1) / kFiguresPerRow, per_row = (run + rows - 1) / rows;
            for (std::size_t at = i; at < i + run; at += per_row) {
                std::size_t n = std::min(per_row, i + run - at);
                std::vector<CellSpec> head, values;
                for (std::size_t k = at; k < at + n; ++k) {
                    head.push_back({fields[k]->label.zh, 1.0 / static_cast<double>(n), Style::Head});
                    values.push_back({text_of(*fields[k]), 1.0 / static_cast<double>(n), Style::Figure});
                }
                d.need(60);
                d.row(head);
                d.row(values, 20);
            }
            i += run - 1;
            continue;
        }
        std::string t = text_of(*f);
        if (f->type == FieldType::Multiline) {
            flush();
            d.flow(f->label.zh, t, kLabelFrac, true, kValueFont);
        } else if (wide(*f, t)) {
            flush();
            d.row({{f->label.zh, kLabelFrac, Style::Label}, {t, 1 - kLabelFrac}});
        } else if (pending) {
            const double half = 0.5 - kLabelFrac;
            d.row({{pending->label.zh, kLabelFrac, Style::Label}, {pending_text, half}, {f->label.zh, kLabelFrac, Style::Label}, {t, half}});
            pending = nullptr;
        } else {
            pending = f;
            pending_text = t;
        }
    }
    flush();
}

double column_weight(const Field& c) {
    switch (c.type) {
        case FieldType::Email: case FieldType::Url: return 1.5;
        case FieldType::Phone: return 1.2;
        case FieldType::Date: case FieldType::Choice: return 0.9;
        default: return text_width(c.label.zh) > 10 ? 1.6 : 1.0;
    }
}

// A table of a few columns: its label, a head row, one row per entry (an empty
// row when there is none, so the paper form still has the space).
void small_table(Document& d, const Field& f, const json& rows, const json& data) {
    double total = 0;
    for (const Field& c : f.columns) total += column_weight(c);
    std::vector<CellSpec> head;
    for (const Field& c : f.columns) head.push_back({c.label.zh, column_weight(c) / total, Style::Head});
    d.need(60);
    d.row({{f.label.zh, 1, Style::Label}});
    d.row(head);
    std::size_t n = rows.is_array() ? rows.size() : 0;
    for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i) {
        std::vector<CellSpec> cells;
        for (const Field& c : f.columns) {
            std::string t = i < n && is_visible(c, data, &f, &rows[i]) ? cell_text(c, rows[i]) : "";
            cells.push_back({t, column_weight(c) / total});
        }
        d.row(cells, 20);
    }
}

// Opinion cells of a member table leave room for the head's signature and the stamp (公章).
bool is_opinion(const Field& c) { return c.label.zh.find("意见") != std::string::npos; }

std::string stamp_text(const std::string& opinion) {
    // The opinion reads from the left; the signature lines sit indented below it, as on the seed.
    return (opinion.empty() ? "" : opinion + "\n") + "\n　　　负责人：\n　　　　　　（公章）\n\n　　　年　　月　　日";
}

// One main member as its own table, like the seed's 主要成员情况表 (one per member).
void member_table(Document& d, const Field& f, const json& row, std::size_t index, std::size_t count, const json& data) {
    d.need(200);
    d.gap(6);
    std::string title = f.label.zh + "（" + std::to_string(index + 1) + "/" + std::to_string(count) + "）";
    d.row({{title, 1, Style::Band}});
    std::vector<const Field*> cols, opinions;
    for (const Field& c : f.columns) {
        if (!is_visible(c, data, &f, &row)) continue;
        (is_opinion(c) ? opinions : cols).push_back(&c);
    }
    grid(d, cols, [&](const Field& c) { return cell_text(c, row); });
    if (!opinions.empty()) {
        const double share = 1.0 / static_cast<double>(opinions.size());
        std::vector<CellSpec> cells;
        for (const Field* c : opinions) {
            cells.push_back({c->label.zh, share * 0.3, Style::Label});
            cells.push_back({stamp_text(cell_text(*c, row)), share * 0.7});
        }
        d.row(cells, 96);
    }
}

void tables(Document& d, const Field& f, const json& data) {
    const json* v = value_of(data, f.id);
    json rows = v && v->is_array() ? *v : json::array();
    if (f.columns.size() <= 6) {
        small_table(d, f, rows, data);
        return;
    }
    std::size_t n = std::max<std::size_t>(rows.size(), 1);
    for (std::size_t i = 0; i < n; ++i) member_table(d, f, i < rows.size() ? rows[i] : json::object(), i, n, data);
    if (f.max_rows) d.text("注：填写主要成员情况，限" + std::to_string(f.max_rows) + "家。", kSmallFont);
    d.gap(6);
}

void fields_section(Document& d, const FormDefinition& form, const Section& s, const json& data) {
    d.need(60);
    d.row({{s.title.zh, 1, Style::Band}});
    std::vector<const Field*> scalars;
    auto flush = [&] {
        grid(d, scalars, [&](const Field& f) { return field_text(form, f, data); });
        scalars.clear();
    };
    for (const Field& f : s.fields) {
        if (!shown(f, data)) continue;
        if (f.type == FieldType::Table) {
            flush();
            tables(d, f, data);
        } else {
            scalars.push_back(&f);
        }
    }
    flush();
    d.gap(8);
}

// 四、审核意见表: each party's opinion (the commitment text for the lead unit),
// then its signatory and date under room for the signature and the stamp.
void commitment_section(Document& d, const FormDefinition& form, const Section& s, const json& data) {
    d.need(260);
    d.row({{s.title.zh, 1, Style::Band}});
    for (FilledBy who : {FilledBy::Applicant, FilledBy::District}) {
        std::string body, sign;
        std::string date = "　　　　年　　月　　日";
        for (const Field& f : s.fields) {
            if (f.filled_by != who || !shown(f, data)) continue;
            std::string t = field_text(form, f, data);
            if (f.type == FieldType::Commitment) {
                body += f.label.zh + "：\n" + f.text.zh + "\n" + (t == "■是" ? "■ 已确认" : "□ 已确认") + "\n";
            } else if (f.type == FieldType::Multiline) {
                body += (body.empty() ? f.label.zh + "：\n" : f.label.zh + "：") + t + "\n";
            } else if (f.type == FieldType::Date) {
                if (!t.empty()) date = t;
            } else {
                sign += f.label.zh + "：" + t + "\n";
            }
        }
        if (body.empty() && sign.empty()) continue;
        d.flow("", body, 0, true, kValueFont, 0, 60);
        d.row({{sign + "\n（公章）\n\n" + date, 1, Style::Sign}}, 110);
        d.gap(4);
    }
}

void annex1(Document& d, const FormDefinition& form, const json& data) {
    d.text("附件1", kBandFont);
    d.text(form.title.zh, kTitleFont, PANGO_ALIGN_CENTER, 12);
    for (const Section& s : form.sections) {
        if (s.annex != 1) continue;
        bool has_commitment = std::any_of(s.fields.begin(), s.fields.end(), [](const Field& f) { return f.type == FieldType::Commitment; });
        if (has_commitment) commitment_section(d, form, s, data);
        else fields_section(d, form, s, data);
    }
}

// ============================================================ [SECTION] 附件2

void annex2(Document& d, const FormDefinition& form, const json& data) {
    bool any = std::any_of(form.sections.begin(), form.sections.end(), [](const Section& s) { return s.annex == 2; });
    if (!any) return;
    d.new_page();
    d.text("附件2", kBandFont);
    std::string name;
    if (const Field* f = form.find_field("alliance_name")) name = field_text(form, *f, data);
    d.text((name.empty() ? "重庆市xxxx产业技术创新联盟" : name) + "建设运行报告", kTitleFont, PANGO_ALIGN_CENTER, 14);
    for (const Section& s : form.sections) {
        if (s.annex != 2) continue;
        // The seed numbers report headings 一、二、…; a section whose fields are its
        // sub-points (（一）（二）…) shows its own title above them.
        bool sub_points = !s.fields.empty() && s.fields.front().label.zh.rfind("（", 0) == 0;
        if (sub_points) d.heading(s.title.zh, kReportHeadFont, 60);
        for (const Field& f : s.fields) {
            if (!shown(f, data)) continue;
            d.heading(f.label.zh, sub_points ? kReportFont : kReportHeadFont);
            d.flow("", field_text(form, f, data), 0, false, kReportFont, 2 * kReportFont.size);
            d.gap(10);
        }
    }
}

// ============================================================ [SECTION] Rendering

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
    auto* out = static_cast<std::string*>(closure);
    if (out) out->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
}

// Draws the whole document once; `out` null discards the bytes (the counting pass).
Result<int> render(const FormDefinition& form, const json& data, const std::string& reference, int total, std::string* out) {
    cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(append, out, kPageW, kPageH);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, (form.title.zh + " " + reference).c_str());
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Shenbao");
    cairo_t* cr = cairo_create(surface);
    int pages = 0;
    {
        Document d(cr, reference, total);
        annex1(d, form, data);
        annex2(d, form, data);
        d.finish();
        pages = d.pages();
    }
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (st != CAIRO_STATUS_SUCCESS)
        return Error{ErrorCode::Internal, "the PDF of " + reference + " could not be drawn: " + cairo_status_to_string(st)};
    return pages;
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer (asan preset): fontconfig, pango and glib keep process-wide
// caches (font patterns, font maps) until exit by design, and cairo 1.16's PDF
// backend leaks a few KiB of font-subsetting tables per document; none of it
// is ours to free. Any program that draws a PDF links this object.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libfontconfig.so\nleak:libcairo.so\nleak:libpangoft2-1.0.so\nleak:libpango-1.0.so\nleak:libglib-2.0.so\n";
}
#endif

Result<std::string> render_application_pdf(const FormDefinition& form, const json& data, const std::string& reference, int* pages) {
    const json& d = data.is_object() ? data : json::object();
    auto counted = render(form, d, reference, 0, nullptr);
    if (!counted.ok()) return counted.error();
    std::string out;
    auto drawn = render(form, d, reference, *counted, &out);
    if (!drawn.ok()) return drawn.error();
    if (*drawn != *counted) return Error{ErrorCode::Internal, "the PDF of " + reference + " changed its page count between passes"};
    if (pages) *pages = *drawn;
    return out;
}

Status write_application_pdf(const FormDefinition& form, const Record& record, const std::string& path) {
    auto bytes = render_application_pdf(form, record.data, record.meta.id);
    if (!bytes.ok()) return bytes.error();
    return write_export_file(path, *bytes);
}

}  // namespace shenbao
