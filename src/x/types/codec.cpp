#include "x/types/codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>

#include "crypto/bech32.h"
#include "x/types/errors.h"

namespace depai::x {

std::string DeterministicSerialize(const google::protobuf::Message& m) {
  // Sized once, written in place: no growth of the string chunk by chunk (records, sign docs and
  // the tx re-encoding check call this on every tx).
  const size_t size = m.ByteSizeLong();
  std::string out(size, '\0');
  google::protobuf::io::ArrayOutputStream aos(out.data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream cos(&aos);
  cos.SetSerializationDeterministic(true);
  m.SerializeWithCachedSizes(&cos);
  return out;
}

Result<Bytes> ParseAddress(std::string_view bech32, const char* field) {
  auto a = crypto::AddressFromBech32(bech32);
  if (!a.ok()) return RootErr(kErrInvalidAddress, std::string(field) + ": " + a.error().message);
  return a;
}

nlohmann::json MessageToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::string out;
  auto st = google::protobuf::util::MessageToJsonString(m, &out, o);
  if (!st.ok()) return nlohmann::json{{"error", std::string(st.message())}};
  return nlohmann::json::parse(out);
}

Status MergeParamsJson(const nlohmann::json& overrides, google::protobuf::Message* params, std::string_view what) {
  if (!overrides.is_object()) return RootErr(kErrInvalidGenesis, std::string(what) + ": params must be an object");
  nlohmann::json merged = MessageToJson(*params);
  for (const auto& [k, v] : overrides.items()) merged[k] = v;
  params->Clear();
  return ProtoFromJson(merged, params, std::string(what) + ": params");
}

}  // namespace depai::x

namespace depai::x {

Result<uint64_t> DecodeU64Record(std::string_view bytes, std::string_view what) {
  if (bytes.size() != 8) return Fault(kFaultCorruptRecord, "stored " + std::string(what) + " is not 8 bytes");
  return GetU64BE(bytes);
}

Result<Amount> DecodeAmountField(std::string_view v, std::string_view what) {
  auto a = Amount::Parse(v);
  if (!a.ok())
    return Fault(kFaultCorruptRecord, "stored " + std::string(what) + " '" + std::string(v) + "' is not an amount");
  return a;
}

Status ProtoFromJson(const nlohmann::json& j, google::protobuf::Message* m, std::string_view what) {
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(j.dump(), m, o);
  if (!st.ok()) return RootErr(kErrInvalidGenesis, std::string(what) + ": " + std::string(st.message()));
  return {};
}

}  // namespace depai::x
