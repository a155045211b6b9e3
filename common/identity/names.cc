// Name normalisation, nicknames and Soundex.
#include <unicode/translit.h>
#include <unicode/unistr.h>

#include <array>
#include <memory>
#include <utility>

#include "common/identity/normalise.h"

#include "absl/strings/match.h"

namespace trelink {
namespace {

bool IsAscii(absl::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// ICU transliterators are not safe to share between threads; each thread
// builds its own once.
std::string TransliterateToAscii(absl::string_view raw) {
  thread_local std::unique_ptr<icu::Transliterator> to_ascii = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::Transliterator> t(icu::Transliterator::createInstance(
        "Any-Latin; Latin-ASCII", UTRANS_FORWARD, status));
    return U_SUCCESS(status) ? std::move(t) : nullptr;
  }();
  icu::UnicodeString text =
      icu::UnicodeString::fromUTF8(icu::StringPiece(raw.data(), static_cast<int32_t>(raw.size())));
  if (to_ascii != nullptr) to_ascii->transliterate(text);
  std::string out;
  text.toUTF8String(out);
  return out;
}

bool IsTitle(absl::string_view word) {
  return word == "MR" || word == "MRS" || word == "MS" || word == "MISS" || word == "DR" || word == "MX";
}

}  // namespace

std::string NormaliseName(absl::string_view raw) {
  std::string ascii = IsAscii(raw) ? std::string(raw) : TransliterateToAscii(raw);
  // Split into words of letters, upper-cased; anything else separates words.
  std::string joined;
  joined.reserve(ascii.size());
  absl::string_view first_word;
  size_t words = 0;
  bool in_word = false;
  for (char c : ascii) {
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (letter) {
      if (!in_word) ++words;
      joined.push_back(static_cast<char>(c & ~0x20));
      in_word = true;
    } else if (c == '\'' || c == '`') {
      continue;  // O'Neil is one word
    } else {
      if (in_word && words == 1) first_word = absl::string_view(joined);
      in_word = false;
    }
  }
  if (words > 1 && IsTitle(first_word)) joined.erase(0, first_word.size());
  return joined;
}

bool IsPlaceholderGivenName(absl::string_view name) {
  static constexpr absl::string_view kPlaceholders[] = {
      "BABY", "BABYBOY", "BABYGIRL", "INFANT", "NEWBORN", "UNKNOWN", "UNNAMED", "NOTKNOWN", "NK", "BOY", "GIRL",
      "TWIN", "TWINA", "TWINB", "MALE", "FEMALE", "XX", "XXX"};
  for (absl::string_view placeholder : kPlaceholders) {
    if (name == placeholder) return true;
  }
  // "Baby of Smith", "Twin 2 of Smith": a placeholder with the mother's name.
  return absl::StartsWith(name, "BABYOF") || absl::StartsWith(name, "TWINOF");
}

absl::string_view CanonicalGivenName(absl::string_view name) {
  // Common English nicknames, sorted by nickname. Ambiguous ones (e.g. ALEX,
  // SAM, JO) are left out on purpose: mapping them would merge different people.
  static constexpr std::array<std::pair<absl::string_view, absl::string_view>, 40> kNicknames = {{
      {"ABBY", "ABIGAIL"},     {"ANDY", "ANDREW"},      {"BECKY", "REBECCA"},    {"BESS", "ELIZABETH"},
      {"BETH", "ELIZABETH"},   {"BETSY", "ELIZABETH"},  {"BETTY", "ELIZABETH"},  {"BILL", "WILLIAM"},
      {"BILLY", "WILLIAM"},    {"BOB", "ROBERT"},       {"BOBBY", "ROBERT"},     {"CATHY", "CATHERINE"},
      {"CHRISSY", "CHRISTINE"}, {"DAN", "DANIEL"},      {"DANNY", "DANIEL"},     {"DAVE", "DAVID"},
      {"DEBBIE", "DEBORAH"},   {"DICK", "RICHARD"},     {"ELLIE", "ELEANOR"},    {"JACK", "JOHN"},
      {"JENNY", "JENNIFER"},   {"JIM", "JAMES"},        {"JIMMY", "JAMES"},      {"KATE", "KATHERINE"},
      {"KATIE", "KATHERINE"},  {"LIZ", "ELIZABETH"},    {"LIZZIE", "ELIZABETH"}, {"MAGGIE", "MARGARET"},
      {"MEG", "MARGARET"},     {"MIKE", "MICHAEL"},     {"MOLLY", "MARY"},       {"NICK", "NICHOLAS"},
      {"PEGGY", "MARGARET"},   {"ROB", "ROBERT"},       {"SALLY", "SARAH"},      {"STEVE", "STEPHEN"},
      {"SUE", "SUSAN"},        {"TOM", "THOMAS"},       {"TOMMY", "THOMAS"},     {"WILL", "WILLIAM"},
  }};
  auto it = std::lower_bound(kNicknames.begin(), kNicknames.end(), name,
                             [](const auto& entry, absl::string_view key) { return entry.first < key; });
  if (it != kNicknames.end() && it->first == name) return it->second;
  return name;
}

std::string Soundex(absl::string_view name) {
  //                      A    B    C    D    E    F    G    H    I    J    K    L    M
  static constexpr char kCode[26] = {'0', '1', '2', '3', '0', '1', '2', 'h', '0', '2', '2', '4', '5',
                                     //N  O    P    Q    R    S    T    U    V    W    X    Y    Z
                                     '5', '0', '1', '2', '6', '2', '3', '0', '1', 'h', '2', '0', '2'};
  std::string out;
  if (name.empty()) return out;
  out.push_back(name[0]);
  char previous = kCode[name[0] - 'A'];
  for (size_t i = 1; i < name.size() && out.size() < 4; ++i) {
    const char code = kCode[name[i] - 'A'];
    if (code == 'h') continue;  // H and W do not separate equal codes
    if (code != '0' && code != previous) out.push_back(code);
    previous = code;
  }
  out.resize(4, '0');
  return out;
}

}  // namespace trelink
