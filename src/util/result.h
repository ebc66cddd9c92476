// Result<T> / Status: errors as values on every consensus path.
//
// Contract: an Error carries a stable (codespace, code) pair plus a human message.
// Codes are registered in app/errors.h and x/<module>/errors.h and are never renumbered.
// Code 0 means success and is never used for an Error. Not thread-safe beyond value semantics.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace depai {

struct Error {
  std::string codespace;
  uint32_t code = 1;
  std::string message;
};

class Status {
 public:
  Status() = default;
  Status(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  static Status Ok() { return {}; }
  bool ok() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

template <typename T>
class Result {
 public:
  Result(T v) : v_(std::move(v)) {}      // NOLINT(google-explicit-constructor)
  Result(Error e) : v_(std::move(e)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  Status status() const { return ok() ? Status() : Status(error()); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace depai

// Propagate an error out of the enclosing function.
#define DEPAI_TRY(expr)                \
  do {                                 \
    auto&& _st = (expr);               \
    if (!_st.ok()) return _st.error(); \
  } while (0)

#define DEPAI_CONCAT_INNER(a, b) a##b
#define DEPAI_CONCAT(a, b) DEPAI_CONCAT_INNER(a, b)
#define DEPAI_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.error();                \
  lhs = std::move(tmp).value()
#define DEPAI_ASSIGN_OR_RETURN(lhs, expr) DEPAI_ASSIGN_OR_RETURN_IMPL(DEPAI_CONCAT(_res_, __LINE__), lhs, expr)
