// x/provider's stateless field validators (module.h), shared by the messages, genesis and the
// client (depai tx provider checks its flags with them before signing).
#include <algorithm>

#include "x/provider/module.h"

namespace depai::x::provider {

using depai::provider::v1::GeoLocation;
using depai::provider::v1::Resources;
using AttrList = google::protobuf::RepeatedPtrField<Attribute>;

namespace {
bool Printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// [a-z0-9] plus the characters in `extra`.
bool LowerName(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || extra.find(c) != std::string_view::npos;
  });
}

Status ValidName(const std::string& v, const std::string& field, bool required) {
  if (required && v.empty()) return ProviderErr(kErrInvalidResources, field + " must not be empty");
  if (v.size() > kMaxResourceName || !LowerName(v, "_.-"))
    return ProviderErr(kErrInvalidResources,
                       field + " '" + v + "' must match [a-z0-9_.-]{0," + std::to_string(kMaxResourceName) + "}");
  return {};
}
}  // namespace

std::vector<Attribute> SortedAttributes(const AttrList& attrs) {
  std::vector<Attribute> v(attrs.begin(), attrs.end());
  std::sort(v.begin(), v.end(), [](const Attribute& a, const Attribute& b) { return a.key() < b.key(); });
  return v;
}

Status ValidateStoredAttributes(const AttrList& attrs, const std::string& field) {
  DEPAI_TRY(ValidateAttributes(attrs, field, false));
  for (int i = 1; i < attrs.size(); ++i)
    if (attrs[i - 1].key() >= attrs[i].key())
      return ProviderErr(kErrInvalidAttributes, field + " must be sorted by key");
  return {};
}

Status ValidateEndpoint(const std::string& e) {
  if (e.size() > kMaxEndpoint)
    return ProviderErr(kErrInvalidEndpoint, "endpoint is longer than " + std::to_string(kMaxEndpoint) + " bytes");
  std::string_view rest;
  if (e.rfind("http://", 0) == 0)
    rest = std::string_view(e).substr(7);
  else if (e.rfind("https://", 0) == 0)
    rest = std::string_view(e).substr(8);
  else
    return ProviderErr(kErrInvalidEndpoint, "endpoint '" + e + "' must start with http:// or https://");
  if (rest.empty() || rest[0] == '/' || rest[0] == ':')
    return ProviderErr(kErrInvalidEndpoint, "endpoint '" + e + "' has no host");
  for (char c : rest)
    if (c <= 0x20 || c > 0x7e) return ProviderErr(kErrInvalidEndpoint, "endpoint contains a space or control byte");
  return {};
}

Status ValidateLocation(const GeoLocation& loc) {
  if (loc.lat_e6() < -kMaxLatE6 || loc.lat_e6() > kMaxLatE6)
    return ProviderErr(kErrInvalidLocation,
                       "location.lat_e6 " + std::to_string(loc.lat_e6()) + " is outside [-90000000, 90000000]");
  if (loc.lon_e6() < -kMaxLonE6 || loc.lon_e6() > kMaxLonE6)
    return ProviderErr(kErrInvalidLocation,
                       "location.lon_e6 " + std::to_string(loc.lon_e6()) + " is outside [-180000000, 180000000]");
  if (loc.cell().size() > kMaxCell || !Printable(loc.cell()) || loc.cell().find(' ') != std::string::npos)
    return ProviderErr(kErrInvalidLocation,
                       "location.cell must be at most " + std::to_string(kMaxCell) + " printable bytes without spaces");
  return {};
}

Status ValidateRegion(const std::string& r) {
  if (r.size() > kMaxRegion || !LowerName(r, "-"))
    return ProviderErr(kErrInvalidRegion, "region '" + r + "' must match [a-z0-9-]{0,32}");
  return {};
}

Status ValidateAttributeKey(const std::string& key, const std::string& field) {
  if (key.empty() || key.size() > kMaxAttributeKey || !LowerName(key, "_.-"))
    return ProviderErr(kErrInvalidAttributes, field + " key '" + key + "' must match [a-z0-9_.-]{1,64}");
  return {};
}

Status ValidateAttributes(const AttrList& attrs, const std::string& field, bool require_some) {
  if (require_some && attrs.empty()) return ProviderErr(kErrInvalidAttributes, field + " must not be empty");
  if (static_cast<size_t>(attrs.size()) > kMaxAttributes)
    return ProviderErr(kErrInvalidAttributes, field + " has " + std::to_string(attrs.size()) + " entries, at most " +
                                                  std::to_string(kMaxAttributes) + " are allowed");
  for (const auto& a : attrs) {
    DEPAI_TRY(ValidateAttributeKey(a.key(), field));
    if (a.value().size() > kMaxAttributeValue || !Printable(a.value()))
      return ProviderErr(kErrInvalidAttributes, field + " value of '" + a.key() + "' must be at most " +
                                                    std::to_string(kMaxAttributeValue) + " printable bytes");
  }
  auto sorted = SortedAttributes(attrs);
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i - 1].key() == sorted[i].key())
      return ProviderErr(kErrInvalidAttributes, field + " key '" + sorted[i].key() + "' appears more than once");
  return {};
}

Status ValidateResources(const Resources& r) {
  if (static_cast<size_t>(r.gpus().size()) > kMaxGpus)
    return ProviderErr(kErrInvalidResources, "resources.gpus has more than " + std::to_string(kMaxGpus) + " entries");
  if (static_cast<size_t>(r.storage().size()) > kMaxStorage)
    return ProviderErr(kErrInvalidResources,
                       "resources.storage has more than " + std::to_string(kMaxStorage) + " entries");
  for (const auto& g : r.gpus()) {
    DEPAI_TRY(ValidName(g.vendor(), "resources.gpus.vendor", true));
    DEPAI_TRY(ValidName(g.model(), "resources.gpus.model", true));
    DEPAI_TRY(ValidName(g.interface(), "resources.gpus.interface", false));
    if (g.count() == 0)
      return ProviderErr(kErrInvalidResources,
                         "resources.gpus.count of " + g.vendor() + ":" + g.model() + " must be > 0");
  }
  for (const auto& s : r.storage()) {
    DEPAI_TRY(ValidName(s.storage_class(), "resources.storage.storage_class", true));
    if (s.size_mib() == 0)
      return ProviderErr(kErrInvalidResources,
                         "resources.storage.size_mib of class '" + s.storage_class() + "' must be > 0");
  }
  return {};
}

}  // namespace depai::x::provider
