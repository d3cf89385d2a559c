// Shared helpers of the shim: the PROTECT macro, handle conversion, the
// thread-local error. Every exported function is `extern "C"`, returns an
// int32_t status (0 ok, 1 error) and writes results through out-pointers, so
// no C++ exception ever crosses the boundary (tch-rs' torch_api style).
#pragma once

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "tt.h"

namespace tt {

void set_error(const char* msg);

// Shim calls made through PROTECT so far, process-wide (tt_ffi_calls reads it;
// the bench reports FFI crossings per training step with it). Relaxed: a count,
// not a synchronisation point. One definition for every unit (C++17 inline).
inline std::atomic<int64_t> ffi_calls{0};

// Handles are heap-allocated at::Tensor objects; the C side sees an opaque
// pointer. Ops never take ownership of their inputs.
inline at::Tensor& T(tt_tensor h) {
  if (h == nullptr) throw std::invalid_argument("null tensor handle (was the tensor disposed?)");
  return *reinterpret_cast<at::Tensor*>(h);
}

// Optional inputs (bias, running stats) are passed as null handles.
inline c10::optional<at::Tensor> opt(tt_tensor h) {
  if (h == nullptr) return c10::nullopt;
  return *reinterpret_cast<at::Tensor*>(h);
}

inline tt_tensor wrap(at::Tensor t) {
  return reinterpret_cast<tt_tensor>(new at::Tensor(std::move(t)));
}

inline void put(tt_tensor* out, at::Tensor t) {
  if (out == nullptr) throw std::invalid_argument("null out-pointer");
  *out = wrap(std::move(t));
}

inline at::IntArrayRef dims(const int64_t* p, int64_t n) {
  if (n < 0) throw std::invalid_argument("negative dimension count");
  if (n > 0 && p == nullptr) throw std::invalid_argument("null shape pointer");
  return at::IntArrayRef(p, static_cast<size_t>(n));
}

// -1 is the CPU, n >= 0 is CUDA device n.
at::Device device_of(int32_t d);
int32_t device_code(const at::Device& d);
at::ScalarType dtype_of(int32_t code);

std::vector<at::Tensor> list(const tt_tensor* hs, int64_t n);

}  // namespace tt

// Every exported function's body: counts the call (tt::ffi_calls), runs the
// body and turns any exception into status 1 with the thread-local message.
#define PROTECT(...)                                              \
  try {                                                            \
    tt::ffi_calls.fetch_add(1, std::memory_order_relaxed);         \
    __VA_ARGS__;                                                   \
    return 0;                                                      \
  } catch (const c10::Error& e) {                                  \
    tt::set_error(e.what_without_backtrace());                     \
    return 1;                                                      \
  } catch (const std::exception& e) {                              \
    tt::set_error(e.what());                                       \
    return 1;                                                      \
  } catch (...) {                                                  \
    tt::set_error("unknown C++ exception in the libtorch shim");   \
    return 1;                                                      \
  }
