// CUDA graphs: a stretch of CUDA work captured once and replayed as one launch
// (at::cuda::CUDAGraph, as torch.cuda.CUDAGraph and torch.cuda.graph), and the
// side stream of torch's warm-up recipe. Besides dist_nccl.cpp the only unit
// that sees CUDA's headers: scripts/build_native.ts compiles it with
// -DTT_WITH_CUDA_GRAPHS and their -I on a CUDA libtorch 2.x whose CUDA headers
// it finds; elsewhere every function fails with TT_CUDA_GRAPHS_MISSING, the
// build's one-line reason (tt_cuda_graphs_available says 0, freeing a null
// handle is a no-op).
#include "common.h"

#include <stdexcept>
#include <string>

namespace {
// What every refusal ends with: the trainer's switch that runs the step eagerly.
constexpr const char* kFallback = ": run with --cuda-graphs off";
}  // namespace

#ifdef TT_WITH_CUDA_GRAPHS

#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/core/Event.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using c10::cuda::CUDAStream;

// The graph handle: libtorch's CUDAGraph plus what a capture changed and must
// give back (the device's current stream, autocast's cast cache). Derived so
// that a failed capture can be cleaned up through CUDAGraph's protected state
// where the libtorch release leaves that to the caller (abandon()).
struct Graph : at::cuda::CUDAGraph {
  // Set between capture_begin and capture_end: makes the side stream current on the capture
  // device (and that device current), and restores both when reset.
  std::unique_ptr<c10::cuda::CUDAStreamGuard> guard;
  CUDAStream prev = c10::cuda::getCurrentCUDAStream();
  bool cache_was_enabled = true;
  bool in_capture = false;

  // libtorch 2.14 and later record whether a capture still routes allocations to the graph's
  // private pool (capturing_to_pool_), and reset() ends the routing and releases the pool of a
  // capture that failed. Earlier releases end both only after a successful cudaStreamEndCapture.
  template <class G, class = void>
  struct ResetEndsFailedCapture : std::false_type {};
  template <class G>
  struct ResetEndsFailedCapture<G, std::void_t<decltype(std::declval<G&>().capturing_to_pool_)>>
      : std::true_type {};

  // After capture_end threw: the capture stream leaves capture mode, the allocator stops routing
  // to the private pool and the pool is released (the memory of the failed capture's tensors
  // returns once they are freed), and the graph is empty again, ready for a new capture.
  void abandon() {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(capture_stream_.stream(), &status) == cudaSuccess &&
        status != cudaStreamCaptureStatusNone) {
      // capture_end refused before ending the capture (the capture stream was not current).
      cudaGraph_t dropped = nullptr;
      cudaStreamEndCapture(capture_stream_.stream(), &dropped);
      if (dropped != nullptr) cudaGraphDestroy(dropped);
    }
    (void)cudaGetLastError();  // the failed capture's error is reported; none stays pending
    if constexpr (!ResetEndsFailedCapture<Graph>::value) {
      if (!has_graph_ && !has_graph_exec_) {
        // cudaStreamEndCapture failed: capture_end threw before endAllocateToPool, and reset()
        // releases the pool only once a graph exists.
        bool ended = true;
        try {
          c10::cuda::CUDACachingAllocator::endAllocateToPool(capture_dev_, mempool_id_);
        } catch (const std::exception&) {
          ended = false;  // it had ended: nothing routes to the pool
        }
        if (ended) c10::cuda::CUDACachingAllocator::releasePool(capture_dev_, mempool_id_);
      }
    }
    reset();
  }
};

// The graph that is capturing (CUDA allows one capture per process in the global mode).
Graph* capturing = nullptr;

Graph& G(tt_cuda_graph g) {
  if (g == nullptr) throw std::invalid_argument("null CUDA graph handle (was it disposed?)");
  return *reinterpret_cast<Graph*>(g);
}

void need_device() {
  if (!torch::cuda::is_available()) {
    throw std::runtime_error(std::string("CUDA graphs need a CUDA device, and none is visible") +
                             kFallback);
  }
}

c10::DeviceIndex cuda_index(int32_t device, const char* what) {
  need_device();
  const auto n = static_cast<int32_t>(torch::cuda::device_count());
  if (device < 0 || device >= n) {
    throw std::invalid_argument(std::string(what) + ": device must be a CUDA device (0.." +
                                std::to_string(n - 1) + "), got " +
                                (device < 0 ? std::string("the CPU") : std::to_string(device)));
  }
  return static_cast<c10::DeviceIndex>(device);
}

// `waiter` runs nothing queued after this before `done`'s work queued so far has finished.
void wait_for(const CUDAStream& waiter, const CUDAStream& done) {
  c10::Event ev(c10::DeviceType::CUDA);
  ev.record(done.unwrap());
  ev.block(waiter.unwrap());
}

// Undoes capture_begin's stream switch and autocast setting; the previous stream waits for the
// side stream. Runs every step even when one throws; rethrows the first error.
void restore(Graph& g) {
  std::exception_ptr err;
  try {
    if (g.guard) wait_for(g.prev, g.guard->current_stream());
  } catch (...) {
    err = std::current_exception();
  }
  g.guard.reset();
  at::autocast::set_autocast_cache_enabled(g.cache_was_enabled);
  g.in_capture = false;
  if (capturing == &g) capturing = nullptr;
  if (err) std::rethrow_exception(err);
}

// Ends g's capture: capture_end, then the stream and autocast state back. A capture that fails
// (an op that cannot be captured ran, or ending or instantiating the graph fails) is abandoned:
// the graph is empty, the stream, autocast and the allocator are as before capture_begin, and
// the error is rethrown, so the caller can run the same work eagerly.
void end_capture(Graph& g) {
  std::exception_ptr err;
  try {
    g.capture_end();
  } catch (...) {
    err = std::current_exception();
    try {
      g.abandon();
    } catch (...) {
      // the capture's own error is the one to report
    }
  }
  restore(g);
  if (err) std::rethrow_exception(err);
}

// A generator's draws inside a capture are replayed from the generator's state at each replay.
// libtorch 2.3 to 2.13 need each generator other than the default one registered with the graph
// before capture_begin (CUDAGraph::register_generator_state(const Generator&)).
template <class T>
auto register_generator(T& g, const at::Generator& gen, int)
    -> decltype(g.register_generator_state(gen), void()) {
  g.register_generator_state(gen);
}

// 2.14 and later register a generator with the capturing graph on its first draw (and dropped
// the overload above); earlier 2.x have no way to.
template <class T>
void register_generator(T&, const at::Generator&, long) {
#if TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 14
  throw std::runtime_error(
      std::string("libtorch " TORCH_VERSION " cannot replay draws of a generator other than "
                  "the default one in a CUDA graph (2.3 and later can)") +
      kFallback);
#endif
}

// The side streams of tt_cuda_side_stream_begin, innermost last.
struct Side {
  c10::DeviceIndex device;
  CUDAStream prev;
  std::unique_ptr<c10::cuda::CUDAStreamGuard> guard;
};
std::vector<Side> sides;

}  // namespace

extern "C" {

int32_t tt_cuda_graphs_available(int32_t* out) { PROTECT(*out = 1) }

int32_t tt_cuda_graph_new(tt_cuda_graph* out) {
  PROTECT({
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    need_device();
    *out = reinterpret_cast<tt_cuda_graph>(new Graph());
  })
}

int32_t tt_cuda_graph_free(tt_cuda_graph h) {
  PROTECT({
    if (h == nullptr) return 0;
    auto* g = reinterpret_cast<Graph*>(h);
    if (g->in_capture) {
      try {
        end_capture(*g);
      } catch (...) {
        // freed mid-capture: the capture is abandoned, the stream and autocast restored
      }
    }
    delete g;
  })
}

int32_t tt_cuda_graph_register_generator(tt_cuda_graph h, tt_generator gen) {
  PROTECT({
    auto& g = G(h);
    if (gen == nullptr) throw std::invalid_argument("null generator handle (was it disposed?)");
    const auto& generator = *reinterpret_cast<at::Generator*>(gen);
    if (!generator.device().is_cuda()) {
      throw std::invalid_argument("a CUDA graph replays draws of CUDA generators; this one is on " +
                                  generator.device().str());
    }
    if (g.in_capture) {
      throw std::logic_error("register generators before capture_begin, not during the capture");
    }
    register_generator(g, generator, 0);
  })
}

int32_t tt_cuda_graph_capture_begin(tt_cuda_graph h, int32_t device) {
  PROTECT({
    auto& g = G(h);
    const auto dev = cuda_index(device, "CUDA graph capture");
    if (g.in_capture) throw std::logic_error("this CUDA graph is already capturing");
    if (capturing != nullptr) {
      throw std::logic_error("another CUDA graph is capturing (one capture at a time)");
    }
    // As torch.cuda.graph: nothing of the device in flight, the cached free blocks returned
    // (the graph's private pool takes what the capture allocates), then the capture on a side
    // stream (capture is refused on the legacy default stream).
    {
      c10::cuda::CUDAGuard on(dev);
      c10::cuda::device_synchronize();
    }
    c10::cuda::CUDACachingAllocator::emptyCache();
    const CUDAStream prev = c10::cuda::getCurrentCUDAStream(dev);
    const CUDAStream side = c10::cuda::getStreamFromPool(false, dev);
    wait_for(side, prev);
    g.prev = prev;
    g.cache_was_enabled = at::autocast::is_autocast_cache_enabled();
    g.guard = std::make_unique<c10::cuda::CUDAStreamGuard>(side.unwrap());
    // Autocast's cast-weight cache would hand the graph casts made outside it, or keep casts made
    // inside (in the graph's pool) for eager code: off while capturing, as make_graphed_callables
    // requires.
    at::autocast::set_autocast_cache_enabled(false);
    g.in_capture = true;
    capturing = &g;
    try {
      g.capture_begin();  // a private memory pool, cudaStreamCaptureModeGlobal
    } catch (...) {
      try {
        g.abandon();
      } catch (...) {
      }
      restore(g);
      throw;
    }
  })
}

int32_t tt_cuda_graph_capture_end(tt_cuda_graph h) {
  PROTECT({
    auto& g = G(h);
    if (!g.in_capture) throw std::logic_error("capture_end without capture_begin");
    end_capture(g);
  })
}

int32_t tt_cuda_graph_replay(tt_cuda_graph h) {
  PROTECT({
    auto& g = G(h);
    if (g.in_capture) throw std::logic_error("replay during the graph's own capture");
    g.replay();  // on the current stream of the capture device
  })
}

int32_t tt_cuda_graph_reset(tt_cuda_graph h) {
  PROTECT({
    auto& g = G(h);
    if (g.in_capture) throw std::logic_error("reset during a capture: end the capture first");
    g.reset();
  })
}

int32_t tt_cuda_side_stream_begin(int32_t device) {
  PROTECT({
    const auto dev = cuda_index(device, "side stream");
    if (capturing != nullptr) {
      throw std::logic_error("a side stream cannot begin while a CUDA graph is capturing");
    }
    const CUDAStream prev = c10::cuda::getCurrentCUDAStream(dev);
    const CUDAStream side = c10::cuda::getStreamFromPool(false, dev);
    wait_for(side, prev);
    sides.push_back(Side{dev, prev, std::make_unique<c10::cuda::CUDAStreamGuard>(side.unwrap())});
  })
}

int32_t tt_cuda_side_stream_end(int32_t device) {
  PROTECT({
    if (sides.empty()) throw std::logic_error("side stream end without begin");
    if (capturing != nullptr) {
      throw std::logic_error("a side stream cannot end while a CUDA graph is capturing");
    }
    auto& top = sides.back();
    if (top.device != device) {
      throw std::invalid_argument("side stream end on device " + std::to_string(device) +
                                  ", but the innermost side stream is on device " +
                                  std::to_string(top.device));
    }
    Side s = std::move(top);
    sides.pop_back();
    wait_for(s.prev, s.guard->current_stream());
  })
}

int32_t tt_cuda_mem_get_info(int32_t device, int64_t* free_bytes, int64_t* total_bytes) {
  PROTECT({
    const auto dev = cuda_index(device, "memory info");
    c10::cuda::CUDAGuard guard(dev);
    size_t f = 0, t = 0;
    const cudaError_t err = cudaMemGetInfo(&f, &t);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      throw std::runtime_error(std::string("cudaMemGetInfo: ") + cudaGetErrorString(err));
    }
    *free_bytes = static_cast<int64_t>(f);
    *total_bytes = static_cast<int64_t>(t);
  })
}

}  // extern "C"

#else  // !TT_WITH_CUDA_GRAPHS

#ifndef TT_CUDA_GRAPHS_MISSING
#define TT_CUDA_GRAPHS_MISSING "CUDA graphs were left out of this build"
#endif

namespace {
[[noreturn]] void missing() {
  throw std::runtime_error(std::string(TT_CUDA_GRAPHS_MISSING) + kFallback);
}
}  // namespace

extern "C" {

int32_t tt_cuda_graphs_available(int32_t* out) { PROTECT(*out = 0) }
int32_t tt_cuda_graph_new(tt_cuda_graph*) { PROTECT(missing()) }
int32_t tt_cuda_graph_free(tt_cuda_graph) { return 0; }
int32_t tt_cuda_graph_register_generator(tt_cuda_graph, tt_generator) { PROTECT(missing()) }
int32_t tt_cuda_graph_capture_begin(tt_cuda_graph, int32_t) { PROTECT(missing()) }
int32_t tt_cuda_graph_capture_end(tt_cuda_graph) { PROTECT(missing()) }
int32_t tt_cuda_graph_replay(tt_cuda_graph) { PROTECT(missing()) }
int32_t tt_cuda_graph_reset(tt_cuda_graph) { PROTECT(missing()) }
int32_t tt_cuda_side_stream_begin(int32_t) { PROTECT(missing()) }
int32_t tt_cuda_side_stream_end(int32_t) { PROTECT(missing()) }
int32_t tt_cuda_mem_get_info(int32_t, int64_t*, int64_t*) {
  PROTECT(throw std::runtime_error(std::string("memGetInfo needs a build with CUDA's headers (") +
                                   TT_CUDA_GRAPHS_MISSING + ")"))
}

}  // extern "C"

#endif  // TT_WITH_CUDA_GRAPHS
