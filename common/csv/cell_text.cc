#include "common/csv/cell_text.h"

#include <cstdint>

namespace trelink {

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const uint8_t lead = *p++;
    if (lead < 0x80) continue;
    int more = 0;
    uint8_t low = 0x80, high = 0xBF;  // bounds of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      more = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      more = 2;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      more = 3;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      return false;  // a continuation byte, an overlong C0/C1 lead or F5..FF
    }
    if (end - p < more || *p < low || *p > high) return false;
    for (int i = 1; i < more; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += more;
  }
  return true;
}

absl::Status ValidateCellText(absl::string_view text) {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("not valid UTF-8");
  if (text.find('\0') != absl::string_view::npos) return absl::InvalidArgumentError("contains a NUL byte");
  return absl::OkStatus();
}

}  // namespace trelink
