// Paper (shenbao::paper): the 附件3 workbook read back by a real spreadsheet
// program (LibreOffice, headless, converting to CSV), the application PDF read
// back by poppler (pdftotext, pdfinfo, pdffonts) and drawn as PNGs by pdftoppm
// into build/<preset>/artifacts/pdf/ for a person to look at (their QR codes
// scanned by zbarimg), and the export
// folder's failures on real file systems (a read-only and a full tmpfs; root).
#include <doctest/doctest.h>

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>

#include "shenbao/form.h"
#include "shenbao/generator.h"
#include "shenbao/paper.h"
#include "shenbao/store.h"
#include "shenbao/validate.h"
#include "libreoffice_support.h"
#include "test_support.h"

using nlohmann::json;
using namespace shenbao;

namespace {

const FormDefinition& form() {
    static FormDefinition f = [] {
        auto r = load_form(test::form_path());
        REQUIRE(r.ok());
        return std::move(r.value());
    }();
    return f;
}

const std::vector<std::string> kSeedColumns = {"序号", "创新联盟名称", "技术领域", "牵头单位", "联盟成员数量",
                                               "联盟组建资金投入", "联盟技术研发人员数", "联盟建设目标和建设内容", "联系人", "电话"};

std::string str(const json& data, const char* id) { return data.at(id).get<std::string>(); }

std::string two_decimals(const std::string& s) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", std::stod(s));
    return buf;
}

// The row a generated application must have in 附件3, worked out here from the
// record itself (not through summary_row), as a person would fill the table in.
std::vector<std::string> expected_row(const json& data, int index) {
    long members = std::stol(str(data, "members_city_total")) + std::stol(str(data, "members_outside_total"));
    return {std::to_string(index), str(data, "alliance_name"), str(data, "tech_field"), str(data, "lead_name"),
            std::to_string(members), two_decimals(str(data, "alliance_funding")),
            std::to_string(std::stol(str(data, "alliance_rd_staff"))), str(data, "alliance_goals"),
            str(data, "contact_name"), str(data, "contact_phone")};
}

std::vector<std::string> trimmed(std::vector<std::string> row, std::size_t n) {
    row.resize(std::max(row.size(), n));
    row.resize(n);
    return row;
}

// [SECTION] PDF helpers

// Text with every kind of space taken out (line wrapping puts breaks anywhere).
std::string squeeze(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f') continue;
        if (s.compare(i, 3, "\xE3\x80\x80") == 0) { i += 2; continue; }  // U+3000 ideographic space
        out += s[i];
    }
    return out;
}

std::string pdf_text(const std::string& pdf) {
    // -raw keeps the drawing order: each cell's text stays together.
    auto r = test::run("pdftotext -raw -enc UTF-8 " + pdf + " -");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    return r.output;
}

int pdf_pages(const std::string& pdf) {
    auto r = test::run("pdfinfo " + pdf);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    std::smatch m;
    REQUIRE(std::regex_search(r.output, m, std::regex("Pages:\\s+([0-9]+)")));
    return std::stoi(m[1]);
}

// The page furniture (header, footer) and continuation labels, taken out of the
// squeezed text so a value split across pages reads as one again.
std::string body_text(std::string text, const std::string& reference) {
    text = std::regex_replace(text, std::regex("重庆市产业技术创新联盟申报材料申报编号：" + reference), "");
    text = std::regex_replace(text, std::regex("第[0-9]+页共[0-9]+页"), "");
    for (const Section& s : form().sections)
        for (const Field& f : s.fields) {
            auto cut = [&](const std::string& label) {
                const std::string cont = squeeze(label) + "（续）";
                for (std::size_t at; (at = text.find(cont)) != std::string::npos;) text.erase(at, cont.size());
            };
            cut(f.label.zh);
            for (const Field& c : f.columns) cut(c.label.zh);
        }
    return text;
}

std::string date_words(const std::string& iso) {
    return iso.substr(0, 4) + "年" + iso.substr(5, 2) + "月" + iso.substr(8, 2) + "日";
}

// What of a filled value must appear in the PDF (squeezed), one string per piece.
std::vector<std::string> printed(const Field& f, const json& v) {
    if (!is_filled(&v)) return {};
    switch (f.type) {
        case FieldType::Choice: return {"■" + f.find_option(v.get<std::string>())->label.zh};
        case FieldType::MultiChoice: {
            std::vector<std::string> out;
            for (const json& e : v) out.push_back("■" + f.find_option(e.get<std::string>())->label.zh);
            return out;
        }
        case FieldType::Commitment: return {v.get<bool>() ? "■已确认" : "□已确认"};
        case FieldType::Checkbox: return {v.get<bool>() ? "■是" : "□是"};
        case FieldType::Date: return {date_words(v.get<std::string>())};
        default: break;
    }
    // A number is checked with its unit ("12项"), so a short figure cannot match by chance alone.
    return {squeeze(v.get<std::string>() + f.unit)};
}

}  // namespace

TEST_CASE("the 附件3 workbook read back by LibreOffice holds the seed's columns and every value of generated applications") {
    test::TempDir dir;
    std::vector<SummaryEntry> entries;
    for (std::uint64_t seed = 11; seed < 16; ++seed) entries.push_back({generate_application(form(), seed), ""});
    SummaryOptions options{{"渝北区经济和信息化委员会", "张晓燕", "023-67891234"}, false};
    const std::string xlsx = dir.file("summary.xlsx");
    Status st = write_summary_xlsx(form(), entries, options, xlsx);
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message));

    test::Csv csv = test::libreoffice_csv(dir, xlsx);
    REQUIRE(csv.size() == 3 + entries.size());
    CHECK(csv[0][0] == "重庆市产业技术创新联盟推荐汇总表");
    std::vector<std::string> header_line;
    for (const std::string& c : csv[1])
        if (!c.empty()) header_line.push_back(c);
    CHECK(header_line == std::vector<std::string>{"推荐单位（盖章）：渝北区经济和信息化委员会", "联系人：张晓燕  023-67891234", "单位：万元"});
    CHECK(trimmed(csv[2], 10) == kSeedColumns);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        CAPTURE(i);
        CHECK(trimmed(csv[3 + i], 10) == expected_row(entries[i].data, static_cast<int>(i + 1)));
    }

    // As LibreOffice prints it (A4 landscape), as PNGs for a person to look at.
    const std::string art = std::string(SHENBAO_ARTIFACTS_DIR) + "/xlsx";
    std::filesystem::remove_all(art);
    std::filesystem::create_directories(art);
    std::filesystem::copy_file(xlsx, art + "/summary.xlsx");
    auto r = test::run("HOME=" + dir.path() + " libreoffice --headless --norestore -env:UserInstallation=file://" +
                       dir.file("lo-profile") + " --convert-to pdf --outdir " + art + " " + art + "/summary.xlsx");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    auto info = test::run("pdfinfo " + art + "/summary.pdf");
    CHECK(info.output.find("841.89 x 595.") != std::string::npos);  // A4 landscape
    CHECK(test::run("pdftoppm -r 80 -png " + art + "/summary.pdf " + art + "/page").exit_code == 0);
}

TEST_CASE("a record with missing or invalid values is still listed in 附件3 with empty cells") {
    test::TempDir dir;
    json good = generate_application(form(), 21);
    json bad = generate_application(form(), 22);
    bad.erase("tech_field");                  // missing
    bad["contact_phone"] = "call me maybe";   // not a phone number
    bad["alliance_funding"] = "-12.00";       // money below its minimum
    bad["alliance_rd_staff"] = "eighty";      // not a number
    bad["members_outside_total"] = "many";    // one part of a sum unusable: the total is unknown
    std::vector<SummaryEntry> entries = {{bad, ""}, {good, ""}, {json::array({1, 2}), ""}};
    const std::string xlsx = dir.file("bad.xlsx");
    Status st = write_summary_xlsx(form(), entries, {}, xlsx);
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message));

    test::Csv csv = test::libreoffice_csv(dir, xlsx);
    REQUIRE(csv.size() == 6);
    std::vector<std::string> want = {"1", str(bad, "alliance_name"), "", str(bad, "lead_name"), "", "", "",
                                     str(bad, "alliance_goals"), str(bad, "contact_name"), ""};
    CHECK(trimmed(csv[3], 10) == want);
    CHECK(trimmed(csv[4], 10) == expected_row(good, 2));
    // Not even an object: still a numbered row, every other cell empty.
    CHECK(trimmed(csv[5], 10) == std::vector<std::string>{"3", "", "", "", "", "", "", "", "", ""});
}

TEST_CASE("the commission's 附件3 across districts shows each application's district after 序号") {
    test::TempDir dir;
    json a = generate_application(form(), 31), b = generate_application(form(), 32);
    std::vector<SummaryEntry> entries = {{a, "渝北区"}, {b, "江津区"}};
    const std::string xlsx = dir.file("all.xlsx");
    SummaryOptions options{{"重庆市经济和信息化委员会", "", ""}, true};
    Status st = write_summary_xlsx(form(), entries, options, xlsx);
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message));
    test::Csv csv = test::libreoffice_csv(dir, xlsx);
    REQUIRE(csv.size() == 5);
    std::vector<std::string> head = kSeedColumns;
    head.insert(head.begin() + 1, "区县");
    CHECK(trimmed(csv[2], 11) == head);
    auto row_a = expected_row(a, 1), row_b = expected_row(b, 2);
    row_a.insert(row_a.begin() + 1, "渝北区");
    row_b.insert(row_b.begin() + 1, "江津区");
    CHECK(trimmed(csv[3], 11) == row_a);
    CHECK(trimmed(csv[4], 11) == row_b);
}

TEST_CASE("the application PDF holds every filled value, the reference on every page and embedded CJK fonts") {
    test::TempDir dir;
    const json data = generate_application(form(), 7);
    Record record;
    record.meta.id = new_ulid();
    record.meta.form_id = form().form_id;
    record.data = data;
    const std::string pdf = dir.file("application.pdf");
    Status st = write_application_pdf(form(), record, pdf);
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message));
    int pages = 0;
    auto bytes = render_application_pdf(form(), data, record.meta.id, &pages);
    REQUIRE(bytes.ok());
    CHECK(pages >= 2);
    CHECK(pdf_pages(pdf) == pages);

    const std::string raw = squeeze(pdf_text(pdf));
    // Every page: the reference number in its header and 第 N 页 共 M 页 in its footer.
    std::size_t refs = 0;
    for (std::size_t at = 0; (at = raw.find("申报编号：" + record.meta.id, at)) != std::string::npos; ++at) ++refs;
    CHECK(refs == static_cast<std::size_t>(pages));
    for (int n = 1; n <= pages; ++n) CHECK(raw.find("第" + std::to_string(n) + "页共" + std::to_string(pages) + "页") != std::string::npos);
    CHECK(raw.find("附件1重庆市产业技术创新联盟申报表") != std::string::npos);
    CHECK(raw.find("附件2" + squeeze(str(data, "alliance_name")) + "建设运行报告") != std::string::npos);

    const std::string text = body_text(raw, record.meta.id);
    std::size_t checked = 0;
    for (const Section& s : form().sections)
        for (const Field& f : s.fields) {
            if (!is_visible(f, data) || !data.contains(f.id)) continue;
            if (f.type != FieldType::Table) {
                for (const std::string& piece : printed(f, data[f.id])) {
                    CAPTURE(f.id);
                    CHECK_MESSAGE(text.find(piece) != std::string::npos, piece);
                    ++checked;
                }
                continue;
            }
            for (std::size_t r = 0; r < data[f.id].size(); ++r)
                for (const Field& c : f.columns) {
                    const json& row = data[f.id][r];
                    if (!row.contains(c.id) || !is_visible(c, data, &f, &row)) continue;
                    for (const std::string& piece : printed(c, row[c.id])) {
                        CAPTURE(f.id + "[" + std::to_string(r) + "]." + c.id);
                        CHECK_MESSAGE(text.find(piece) != std::string::npos, piece);
                        ++checked;
                    }
                }
        }
    CHECK(checked > 300);

    auto fonts = test::run("pdffonts " + pdf);
    REQUIRE(fonts.exit_code == 0);
    CHECK(std::regex_search(fonts.output, std::regex("NotoSansCJKsc-Regular\\s+CID Type 0C\\s+Identity-H\\s+yes")));
    CHECK(std::regex_search(fonts.output, std::regex("NotoSerifCJKsc-Regular\\s+CID Type 0C\\s+Identity-H\\s+yes")));

    // PNGs for a person to look at beside the seed's layout.
    const std::string art = std::string(SHENBAO_ARTIFACTS_DIR) + "/pdf";
    std::filesystem::remove_all(art);
    std::filesystem::create_directories(art);
    std::filesystem::copy_file(pdf, art + "/application.pdf");
    auto png = test::run("pdftoppm -r 72 -png " + pdf + " " + art + "/page");
    REQUIRE_MESSAGE(png.exit_code == 0, png.output);
    std::size_t pngs = 0;
    for (const auto& e : std::filesystem::directory_iterator(art)) pngs += e.path().extension() == ".png";
    CHECK(pngs == static_cast<std::size_t>(pages));
    // The QR code on every page scans to the reference number: the top right corner
    // of each page at 150 dpi (about what a phone sees of a printed page) through zbarimg.
    const std::string qr = dir.file("qr");
    std::filesystem::create_directories(qr);
    REQUIRE(test::run("pdftoppm -r 150 -x 960 -y 0 -W 280 -H 200 -png " + pdf + " " + qr + "/corner").exit_code == 0);
    auto scanned = test::run("(zbarimg -q --raw " + qr + "/corner-*.png 2>/dev/null)");
    std::string expected;
    for (int n = 0; n < pages; ++n) expected += record.meta.id + "\n";
    CHECK(scanned.output == expected);
}

TEST_CASE("an application with missing, invalid and malformed values still makes a PDF, with blanks") {
    json data = generate_application(form(), 8);
    data.erase("tech_field");
    data["contact_phone"] = "NOTAPHONE42";
    data["lead_category"] = json::array({"no_such_option"});
    data["council"] = "not a table";
    data["main_members_enterprise"] = json::array({json::object({{"unit_name", 5}, {"email", "x@y"}}), "junk"});
    data["report_importance"] = std::string("bad \xFF\xFE utf-8 and a \x01 control");
    data["alliance_name"] = "重庆市测试产业技术创新联盟";
    int pages = 0;
    auto bytes = render_application_pdf(form(), data, "01TESTREFERENCE0000000000", &pages);
    REQUIRE_MESSAGE(bytes.ok(), (bytes.ok() ? "" : bytes.error().message));
    test::TempDir dir;
    test::write_file(dir.file("bad.pdf"), *bytes);
    CHECK(pdf_pages(dir.file("bad.pdf")) == pages);
    std::string text = squeeze(pdf_text(dir.file("bad.pdf")));
    CHECK(text.find("重庆市测试产业技术创新联盟") != std::string::npos);
    CHECK(text.find("NOTAPHONE42") == std::string::npos);
    CHECK(text.find("no_such_option") == std::string::npos);
    CHECK(text.find("utf-8andacontrol") != std::string::npos);

    // Nothing at all: the blank paper form, with no page left empty (an empty value
    // must not push its heading onto a page of its own).
    auto blank = render_application_pdf(form(), json::object(), "01BLANKFORM000000000000000", &pages);
    REQUIRE(blank.ok());
    CHECK(pages >= 2);
    test::write_file(dir.file("blank.pdf"), *blank);
    for (int n = 1; n <= pages; ++n) {
        auto page = test::run("pdftotext -raw -f " + std::to_string(n) + " -l " + std::to_string(n) + " " + dir.file("blank.pdf") + " -");
        std::string body = std::regex_replace(squeeze(page.output), std::regex("重庆市产业技术创新联盟申报材料申报编号：01BLANKFORM0+"), "");
        body = std::regex_replace(body, std::regex("第[0-9]+页共[0-9]+页"), "");
        CAPTURE(n);
        CHECK(body.size() > 30);
    }
}

namespace {

// A tmpfs mounted for one test; unmounted (lazily) at scope exit. Needs root.
struct Tmpfs {
    std::string path;
    bool mounted = false;
    Tmpfs(const std::string& p, const char* options, unsigned long flags = 0) : path(p) {
        std::filesystem::create_directories(p);
        mounted = ::mount("tmpfs", p.c_str(), "tmpfs", flags, options) == 0;
    }
    ~Tmpfs() {
        if (mounted) ::umount2(path.c_str(), MNT_DETACH);
    }
};

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("a read-only export folder gives a clear error naming it and leaves no file") {
    test::TempDir dir;
    Tmpfs ro(dir.file("usb"), "size=4m", MS_RDONLY);
    REQUIRE_MESSAGE(ro.mounted, "cannot mount a read-only tmpfs (not root?): " << std::strerror(errno));
    std::vector<SummaryEntry> entries = {{generate_application(form(), 41), ""}};
    Status st = write_summary_xlsx(form(), entries, {}, ro.path + "/summary.xlsx");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == ErrorCode::Io);
    CHECK(st.error().message.find("the export folder " + ro.path + " is read-only") != std::string::npos);
    Record r;
    r.meta.id = "01TESTREADONLY000000000000";
    r.data = entries[0].data;
    st = write_application_pdf(form(), r, ro.path + "/application.pdf");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("read-only") != std::string::npos);
    CHECK(names_in(ro.path).empty());
}

TEST_CASE("a full export folder gives a disk-full error and leaves no partial file") {
    test::TempDir dir;
    Tmpfs full(dir.file("stick"), "size=256k");
    REQUIRE_MESSAGE(full.mounted, "cannot mount a small tmpfs (not root?): " << std::strerror(errno));
    // Fill the stick to the last block.
    {
        std::ofstream filler(full.path + "/filler", std::ios::binary);
        std::string block(4096, 'x');
        while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) && filler.flush()) {
        }
    }
    std::vector<SummaryEntry> entries = {{generate_application(form(), 42), ""}};
    Status st = write_summary_xlsx(form(), entries, {}, full.path + "/summary.xlsx");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == ErrorCode::DiskFull);
    CHECK(st.error().message.find("the export folder " + full.path + " is full") != std::string::npos);
    Record r;
    r.meta.id = "01TESTDISKFULL000000000000";
    r.data = entries[0].data;
    st = write_application_pdf(form(), r, full.path + "/application.pdf");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == ErrorCode::DiskFull);
    CHECK(names_in(full.path) == std::vector<std::string>{"filler"});
}

TEST_CASE("a missing export folder (USB stick not plugged in) is named in the error") {
    test::TempDir dir;
    Status st = write_summary_xlsx(form(), {}, {}, dir.file("no-stick") + "/summary.xlsx");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("the export folder " + dir.file("no-stick") + " does not exist") != std::string::npos);
}

TEST_CASE("shenbao-store export-summary and pdf write into the export folder, and a failed print keeps the PDF") {
    test::TempDir dir;
    const std::string cli = std::string(SHENBAO_STORE_CLI) + " --data-dir " + dir.path();
    REQUIRE(test::run(cli + " init").exit_code == 0);
    REQUIRE(test::run(cli + " generate -n 3 --seed 5 --recommend-as 李娜").exit_code == 0);
    REQUIRE(test::run(cli + " generate -n 1 --seed 9").exit_code == 0);  // awaiting review: not in the default 附件3
    REQUIRE(test::run(cli + " generate -n 2 --seed 50 --draft").exit_code == 0);

    auto r = test::run(cli + " export-summary --district 渝北区经济和信息化委员会 --contact 张晓燕 --phone 023-67891234");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("exported 3 application(s) to " + dir.path() + "/exports/summary-") != std::string::npos);
    r = test::run(cli + " export-summary --status draft --out " + dir.file("drafts.xlsx"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("exported 2 application(s)") != std::string::npos);
    r = test::run(cli + " export-summary --status submitted,draft --out " + dir.file("both.xlsx"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("exported 6 application(s)") != std::string::npos);
    CHECK(test::run(cli + " export-summary --status nonsense").exit_code == 1);

    auto list = test::run(cli + " list --status submitted");
    std::smatch m;
    REQUIRE(std::regex_search(list.output, m, std::regex("([0-9A-Z]{26})  submitted")));
    const std::string id = m[1];
    r = test::run(cli + " pdf " + id);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const std::string saved = dir.path() + "/exports/application-" + id + ".pdf";
    CHECK(test::read_file(saved).rfind("%PDF-", 0) == 0);
    CHECK(test::run(cli + " pdf 01NOSUCHRECORD000000000000").exit_code == 4);

    // No CUPS server here: lp fails; the PDF is saved first and stays.
    std::filesystem::remove(saved);
    r = test::run(cli + " pdf " + id + " --print --printer Office");
    CHECK(r.exit_code == 5);
    CHECK(r.output.find("saved " + saved) != std::string::npos);
    CHECK(r.output.find("printing on \"Office\" failed") != std::string::npos);
    CHECK(test::read_file(saved).rfind("%PDF-", 0) == 0);
}

TEST_CASE("printing hands the saved file to lp with the chosen printer, and CUPS's default is found with lpstat") {
    // No CUPS server can run here, so lp and lpstat are stand-ins on PATH that
    // record how they were called (the real lp's failure is tested above).
    test::TempDir dir;
    const std::string bin = dir.file("bin");
    std::filesystem::create_directories(bin);
    test::write_file(bin + "/lp", "#!/bin/sh\nprintf '%s|' \"$@\" > " + dir.file("lp-args") + "\necho 'request id is Office-7 (1 file(s))'\n");
    test::write_file(bin + "/lpstat", "#!/bin/sh\necho 'system default destination: Front_Desk'\n");
    std::filesystem::permissions(bin + "/lp", std::filesystem::perms::owner_all);
    std::filesystem::permissions(bin + "/lpstat", std::filesystem::perms::owner_all);
    const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (bin + ":" + old_path).c_str(), 1);
    struct Restore { std::string p; ~Restore() { ::setenv("PATH", p.c_str(), 1); } } restore{old_path};

    CHECK(choose_printer("Office") == "Office");
    CHECK(choose_printer("") == "Front_Desk");
    const std::string file = dir.file("application-X.pdf");
    test::write_file(file, "%PDF-1.5\n");
    Status st = print_file(file, "Office");
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message));
    CHECK(test::read_file(dir.file("lp-args")) == "-d|Office|--|" + file + "|");

    Status none = print_file(file, "");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().message == "no printer is configured; " + file + " is saved — print it from there");
}
