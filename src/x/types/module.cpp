#include "x/types/module.h"

#include "x/types/tx.h"

namespace depai::x {

bool DecodeStrict(std::string_view value, google::protobuf::Message* m) {
  return m->ParseFromArray(value.data(), static_cast<int>(value.size())) && !HasUnknownFields(*m);
}

}  // namespace depai::x
