// Reading a workbook back the way a person would: LibreOffice (headless)
// converts it to UTF-8 CSV, which the tests parse. Used by the paper and intake tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "test_support.h"

namespace test {

using Csv = std::vector<std::vector<std::string>>;

// RFC 4180: quoted cells may hold commas, quotes ("") and line breaks.
inline Csv parse_csv(const std::string& text) {
    Csv rows(1);
    std::string cell;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') cell += '"', ++i;
            else if (c == '"') quoted = false;
            else cell += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            rows.back().push_back(cell), cell.clear();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            rows.back().push_back(cell), cell.clear();
            rows.emplace_back();
        } else {
            cell += c;
        }
    }
    if (!cell.empty() || !rows.back().empty()) rows.back().push_back(cell);
    if (rows.back().empty()) rows.pop_back();
    return rows;
}

// LibreOffice turns the workbook into UTF-8 CSV (cells as shown), with a private
// profile so parallel tests never share one.
inline Csv libreoffice_csv(const TempDir& dir, const std::string& xlsx) {
    std::string out = dir.file("csv");
    std::filesystem::create_directories(out);
    auto r = run("HOME=" + dir.path() + " libreoffice --headless --norestore -env:UserInstallation=file://" +
                       dir.file("lo-profile") + " --convert-to 'csv:Text - txt - csv (StarCalc):44,34,76,1' --outdir " + out +
                       " " + xlsx);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    std::string csv = out + "/" + std::filesystem::path(xlsx).stem().string() + ".csv";
    REQUIRE_MESSAGE(std::filesystem::exists(csv), "LibreOffice wrote no CSV: " << r.output);
    return parse_csv(read_file(csv));
}

}  // namespace test
