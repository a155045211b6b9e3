// The building blocks of trelink's self-contained HTML pages: escaping, a
// page with inline CSS, tables. A page fetches nothing and runs nothing: its
// Content-Security-Policy forbids every load and every script, so a page
// that tried would show errors in the browser's console. Markup is written
// as well-formed XML (every element closed) so a test can parse it strictly.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace trelink::report {

// `text` safe as element content and as a quoted attribute value: & < > " '
// become entities, control characters U+FFFD.
std::string EscapeHtml(absl::string_view text);

// A whole page: `title` (escaped) in <title> and as the heading, `body` as is.
std::string HtmlDocument(absl::string_view title, absl::string_view body);

// `<tag>escaped text</tag>`.
std::string Element(absl::string_view tag, absl::string_view text);

// Table cells, complete with <td>: text (escaped), a number (right-aligned),
// and a withheld count shown as `shown` (e.g. "<10"), marked as suppressed.
std::string TextCell(absl::string_view text);
std::string NumberCell(absl::string_view number);
std::string SuppressedCell(absl::string_view shown);

// A table with a caption and header row (both escaped); each row's cells are
// markup from the functions above.
std::string Table(absl::string_view caption, const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows);

// A definition list of (term, value markup) pairs; terms are escaped.
std::string DefinitionList(const std::vector<std::pair<std::string, std::string>>& items);

}  // namespace trelink::report
