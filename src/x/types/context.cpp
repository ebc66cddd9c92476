#include "x/types/context.h"

namespace depai::x {

Status GasMeter::consume(uint64_t amount, const char* what) {
  if (amount > limit_ - std::min(consumed_, limit_) || consumed_ > limit_) {
    consumed_ = limit_;
    out_of_gas_ = true;
    return RootErr(kErrOutOfGas,
                   std::string("out of gas in location: ") + what + "; gasWanted: " + std::to_string(limit_));
  }
  consumed_ += amount;
  return {};
}

std::optional<Bytes> GasKVStore::get(std::string_view key) const {
  auto v = inner_->get(key);
  (void)gas_->consume(cfg_.read_flat + cfg_.read_per_byte * (key.size() + (v ? v->size() : 0)), "ReadFlat");
  return v;
}

bool GasKVStore::get_into(std::string_view key, Bytes& out) const {
  const bool found = inner_->get_into(key, out);
  (void)gas_->consume(cfg_.read_flat + cfg_.read_per_byte * (key.size() + (found ? out.size() : 0)), "ReadFlat");
  return found;
}

void GasKVStore::iterate(std::string_view start, std::string_view end, const store::IterFn& fn) const {
  (void)gas_->consume(cfg_.read_flat, "IterFlat");
  inner_->iterate(start, end, [&](std::string_view k, std::string_view v) {
    (void)gas_->consume(cfg_.iter_next + cfg_.read_per_byte * (k.size() + v.size()), "IterNext");
    return fn(k, v);
  });
}

void GasKVStore::set(std::string_view key, std::string_view value) {
  (void)gas_->consume(cfg_.write_flat + cfg_.write_per_byte * (key.size() + value.size()), "WriteFlat");
  inner_->set(key, value);
}

void GasKVStore::del(std::string_view key) {
  (void)gas_->consume(cfg_.delete_flat, "Delete");
  inner_->del(key);
}

}  // namespace depai::x
