// Host-to-device transfer for a prefetcher: gathering rows into a reused (pinned) buffer, an
// asynchronous copy, CUDA events that order it against the stream that uses the batch, and a copy
// stream that joins no other stream. The CUDA parts are compiled where the build has CUDA
// (TT_WITH_CUDA, set by scripts/build_native.ts for a libtorch with libtorch_cuda); they go
// through c10's device-generic Event and stream interface, so this unit needs no CUDA header.
// Elsewhere they fail with one line saying the build is CPU-only.
#include "common.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#ifdef TT_WITH_CUDA
#include <c10/core/Event.h>
#include <c10/core/Stream.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>

#include <chrono>
#include <map>
#include <thread>
#endif

namespace {

#ifndef TT_WITH_CUDA
// `what` ends in its verb: "pinned memory needs", "CUDA events need".
[[noreturn]] void cpu_only(const char* what) {
  throw std::runtime_error(std::string(what) + " a CUDA build of libtorch (this one is CPU-only)");
}
#endif

#ifdef TT_WITH_CUDA

const c10::impl::DeviceGuardImplInterface* cuda_impl() {
  return c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA);
}

// `what` ends in its verb, as cpu_only's.
c10::DeviceIndex cuda_index(int32_t device, const char* what) {
  if (!torch::cuda::is_available()) {
    throw std::runtime_error(std::string(what) + " a CUDA device, and none is visible");
  }
  const auto n = static_cast<int32_t>(torch::cuda::device_count());
  if (device < 0 || device >= n) {
    throw std::invalid_argument("device must be a CUDA device (0.." +
                                std::to_string(n - 1) + "), got " +
                                (device < 0 ? std::string("the CPU") : std::to_string(device)));
  }
  return static_cast<c10::DeviceIndex>(device);
}

c10::Stream current_stream(c10::DeviceIndex d) {
  return cuda_impl()->getStream(c10::Device(c10::DeviceType::CUDA, d));
}

// The event handle: c10's CUDA event (created on its first record) and its device.
struct Event {
  c10::Event ev{c10::DeviceType::CUDA};
  c10::DeviceIndex device;
  explicit Event(c10::DeviceIndex d) : device(d) {}
};

Event& E(tt_cuda_event h) {
  if (h == nullptr) throw std::invalid_argument("null CUDA event handle (was it disposed?)");
  return *reinterpret_cast<Event*>(h);
}

// c10::Event::synchronize arrived after libtorch 1.13; there, poll.
template <class Ev>
auto synchronize(const Ev& e, int) -> decltype(e.synchronize(), void()) {
  e.synchronize();
}
template <class Ev>
void synchronize(const Ev& e, long) {
  while (!e.query()) std::this_thread::sleep_for(std::chrono::microseconds(20));
}

// One copy stream per device, taken from the pool once and kept; the scopes of
// tt_cuda_copy_stream_begin, innermost last, with the stream each replaced.
std::map<c10::DeviceIndex, c10::Stream> copy_streams;
struct CopyScope {
  c10::DeviceIndex device;
  c10::Stream prev;
};
std::vector<CopyScope> copy_scopes;

#endif  // TT_WITH_CUDA

}  // namespace

extern "C" {

int32_t tt_pin_memory(tt_tensor t, tt_tensor* out) {
  PROTECT({
    const auto& x = tt::T(t);
#ifdef TT_WITH_CUDA
    if (!torch::cuda::is_available()) {
      throw std::runtime_error("pinned memory needs a CUDA device, and none is visible");
    }
    tt::put(out, x.pin_memory());
#else
    (void)x;
    (void)out;
    cpu_only("pinned memory needs");
#endif
  })
}

int32_t tt_is_pinned(tt_tensor t, int32_t* out) {
  PROTECT({
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    const auto& x = tt::T(t);
    bool pinned = false;
#ifdef TT_WITH_CUDA
    // Without a visible device nothing can have been pinned (and asking would initialise CUDA).
    if (x.device().is_cpu() && x.layout() == at::kStrided && torch::cuda::is_available()) {
      pinned = x.is_pinned();
    }
#else
    (void)x;
#endif
    *out = pinned ? 1 : 0;
  })
}

int32_t tt_index_select_out(tt_tensor src, int64_t dim, tt_tensor index, tt_tensor out) {
  PROTECT({
    const auto& s = tt::T(src);
    const auto& i = tt::T(index);
    auto& o = tt::T(out);
    if (s.dim() > 0) {
      // ATen would resize a wrong-shaped out (a new allocation: a pinned buffer would silently
      // become pageable memory), so the shape must be the gather's.
      const int64_t d = c10::maybe_wrap_dim(dim, s.dim());
      auto want = s.sizes().vec();
      want[static_cast<size_t>(d)] = i.numel();
      if (o.sizes() != at::IntArrayRef(want)) {
        throw std::invalid_argument("out has shape " + c10::str(o.sizes()) +
                                    ", the gather makes " + c10::str(at::IntArrayRef(want)) +
                                    ": allocate out with that shape (it is never resized)");
      }
    }
    at::index_select_out(o, s, dim, i);
  })
}

int32_t tt_copy_non_blocking(tt_tensor dst, tt_tensor src) {
  PROTECT(tt::T(dst).copy_(tt::T(src), /*non_blocking=*/true))
}

#ifdef TT_WITH_CUDA

int32_t tt_cuda_event_new(int32_t device, tt_cuda_event* out) {
  PROTECT({
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    const auto d = cuda_index(device, "CUDA events need");
    *out = reinterpret_cast<tt_cuda_event>(new Event(d));
  })
}

int32_t tt_cuda_event_record(tt_cuda_event h) {
  PROTECT({
    auto& e = E(h);
    e.ev.record(current_stream(e.device));
  })
}

int32_t tt_cuda_event_wait(tt_cuda_event h) {
  PROTECT({
    auto& e = E(h);
    e.ev.block(current_stream(e.device));  // a no-op for an event never recorded
  })
}

int32_t tt_cuda_event_synchronize(tt_cuda_event h) { PROTECT(synchronize(E(h).ev, 0)) }

int32_t tt_cuda_event_query(tt_cuda_event h, int32_t* done) {
  PROTECT({
    if (done == nullptr) throw std::invalid_argument("null out-pointer");
    *done = E(h).ev.query() ? 1 : 0;
  })
}

int32_t tt_cuda_event_free(tt_cuda_event h) {
  PROTECT({
    if (h == nullptr) return 0;
    delete reinterpret_cast<Event*>(h);
  })
}

int32_t tt_cuda_copy_stream_begin(int32_t device) {
  PROTECT({
    const auto d = cuda_index(device, "a copy stream needs");
    auto it = copy_streams.find(d);
    if (it == copy_streams.end()) {
      const auto s = cuda_impl()->getStreamFromGlobalPool(c10::Device(c10::DeviceType::CUDA, d));
      it = copy_streams.emplace(d, s).first;
    }
    const auto prev = cuda_impl()->exchangeStream(it->second);
    copy_scopes.push_back(CopyScope{d, prev});
  })
}

int32_t tt_cuda_copy_stream_end(int32_t device) {
  PROTECT({
    if (copy_scopes.empty()) throw std::logic_error("copy stream end without begin");
    const auto top = copy_scopes.back();
    if (top.device != device) {
      throw std::invalid_argument("copy stream end on device " + std::to_string(device) +
                                  ", but the innermost copy stream is on device " +
                                  std::to_string(top.device));
    }
    copy_scopes.pop_back();
    cuda_impl()->exchangeStream(top.prev);
  })
}

#else  // !TT_WITH_CUDA

int32_t tt_cuda_event_new(int32_t, tt_cuda_event*) { PROTECT(cpu_only("CUDA events need")) }
int32_t tt_cuda_event_record(tt_cuda_event) { PROTECT(cpu_only("CUDA events need")) }
int32_t tt_cuda_event_wait(tt_cuda_event) { PROTECT(cpu_only("CUDA events need")) }
int32_t tt_cuda_event_synchronize(tt_cuda_event) { PROTECT(cpu_only("CUDA events need")) }
int32_t tt_cuda_event_query(tt_cuda_event, int32_t*) { PROTECT(cpu_only("CUDA events need")) }
int32_t tt_cuda_event_free(tt_cuda_event) { return 0; }
int32_t tt_cuda_copy_stream_begin(int32_t) { PROTECT(cpu_only("a copy stream needs")) }
int32_t tt_cuda_copy_stream_end(int32_t) { PROTECT(cpu_only("a copy stream needs")) }

#endif  // TT_WITH_CUDA

}  // extern "C"
