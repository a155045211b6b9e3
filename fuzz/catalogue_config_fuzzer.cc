// Any text as the catalogue's configuration (protobuf text format of
// trelink.v1.Catalogue): parsed, validated by Catalogue::Create, and, when
// valid, used as the linker uses it: each dataset found by name, its first
// role accepted, and a content record of each event checked against it
// (the record is built from the catalogue, so attribute lookups by name,
// ranges and dates all run on what the text declared).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/catalogue/catalogue.h"
#include "common/config/text_config.h"

namespace {

trelink::v1::ContentRecord RecordOf(const trelink::v1::DatasetSpec& dataset, const std::string& event) {
  trelink::v1::ContentRecord record;
  record.set_event(event);
  record.set_event_date(dataset.earliest_event_date().empty() ? "2020-01-01" : dataset.earliest_event_date());
  for (const auto& attribute : dataset.attributes()) {
    std::string value;
    switch (attribute.type()) {
      case trelink::v1::AttributeSpec::CODE:
        value = attribute.allowed_values(0);
        break;
      case trelink::v1::AttributeSpec::INTEGER:
        value = absl::StrCat(attribute.max());
        break;
      case trelink::v1::AttributeSpec::DATE:
        value = dataset.latest_event_date();
        break;
      default:
        value = attribute.name();
    }
    (*record.mutable_attributes())[attribute.name()] = value;
  }
  return record;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trelink::v1::Catalogue config;
  if (!trelink::ParseTextConfig(std::string(reinterpret_cast<const char*>(data), size), "fuzz", config).ok()) {
    return 0;
  }
  absl::StatusOr<trelink::Catalogue> catalogue = trelink::Catalogue::Create(config);
  if (!catalogue.ok()) return 0;
  for (const auto& spec : catalogue->proto().datasets()) {
    const trelink::v1::DatasetSpec* found = catalogue->Find(spec.name());
    if (found == nullptr || found->name() != spec.name()) std::abort();
    if (!trelink::Catalogue::ValidateRole(*found, found->roles(0)).ok()) std::abort();
    for (const std::string& event : found->events()) {
      (void)catalogue->ValidateContent(*found, RecordOf(*found, event));
    }
  }
  return 0;
}
