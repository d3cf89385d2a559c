// What the c10d units share (dist_store, dist_group, dist_collectives,
// dist_reducer, dist_sync_bn, and the backends dist_gloo / dist_nccl): the
// handle boxes, the error wording, waiting on a collective, device checks.
//
// TT_WITH_C10D is defined by scripts/build_native.ts when the shim has at
// least one process-group backend (TT_WITH_GLOO, TT_WITH_NCCL); without one,
// dist_stub.cpp alone defines the distributed half of tt.h. Only dist_gloo.cpp
// sees Gloo's headers and only dist_nccl.cpp NCCL's and CUDA's: the other
// units talk to the group through c10d's backend base class.
#pragma once

#include "common.h"

#include <torch/version.h>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tt::dist {

// Every distributed function of a shim built without any backend.
inline const char* const kNoBackend =
    "this shim was built without a process-group backend (Gloo or NCCL); `deno task build` "
    "says what it found: Debian's libtorch 1.13 needs libgloo-dev (apt-get install libgloo-dev, "
    "then deno task build)";

}  // namespace tt::dist

#ifdef TT_WITH_C10D

#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

namespace tt::dist {

using ms = std::chrono::milliseconds;

// The collectives' interface: c10d::Backend in 2.x (Gloo and NCCL both
// derive from it), c10d::ProcessGroup in 1.13.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
};

struct PgBox {
  c10::intrusive_ptr<BackendBase> pg;
  int rank;
  int size;
  ms timeout;
  bool nccl;  // CUDA tensors (NCCL) instead of CPU tensors (Gloo)
};

inline StoreBox& S(tt_store h) {
  if (h == nullptr) throw std::invalid_argument("null store handle (was the store freed?)");
  return *reinterpret_cast<StoreBox*>(h);
}

inline PgBox& P(tt_pg h) {
  if (h == nullptr) {
    throw std::invalid_argument("null process group handle (was it destroyed?)");
  }
  return *reinterpret_cast<PgBox*>(h);
}

inline ms positive_timeout(int64_t timeout_ms) {
  if (timeout_ms <= 0) throw std::invalid_argument("timeout must be > 0 ms");
  return ms(timeout_ms);
}

inline std::string where(const PgBox& g, const char* op) {
  std::ostringstream s;
  s << op << " (" << (g.nccl ? "nccl, " : "") << "rank " << g.rank << " of " << g.size
    << ", timeout " << g.timeout.count() << " ms)";
  return s.str();
}

// The message of the exception in flight, without libtorch's backtrace.
inline std::string current_message() {
  try {
    throw;
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown C++ exception";
  }
}

// Waits for one collective, bounded by the group's timeout. Gloo's own
// transport timeout (the same value, set on its contexts) usually fires first
// and names the peer; the grace period only catches a worker thread that never
// got to the op.
inline void wait_work(const PgBox& g, const char* op, const c10::intrusive_ptr<c10d::Work>& w) {
  try {
    w->wait(g.timeout + ms(2000));
  } catch (...) {
    throw std::runtime_error(where(g, op) + " failed: " + current_message() +
                             " (a peer died, timed out or called a different collective; "
                             "destroy this process group)");
  }
}

// Launches one collective (`launch` returns its Work) and waits for it; a
// failure at either point names `op`, the rank and the timeout.
template <typename Launch>
void run_collective(const PgBox& g, const char* op, Launch&& launch) {
  c10::intrusive_ptr<c10d::Work> w;
  try {
    w = launch();
  } catch (...) {
    throw std::runtime_error(where(g, op) + ": " + current_message());
  }
  wait_work(g, op, w);
}

// Gloo groups take CPU tensors, NCCL groups CUDA tensors.
inline void check_device(const PgBox& g, const char* op, const at::Tensor& t) {
  if (g.nccl && !t.is_cuda()) {
    throw std::invalid_argument(where(g, op) + ": NCCL takes CUDA tensors, this one is on " +
                                t.device().str() + " (move it with .to(\"cuda\"))");
  }
  if (!g.nccl && !t.device().is_cpu()) {
    throw std::invalid_argument(where(g, op) + ": Gloo takes CPU tensors here, this one is on " +
                                t.device().str() +
                                " (move it with .to(\"cpu\"), or use backend \"nccl\")");
  }
}

inline void check_tensor(const PgBox& g, const char* op, const at::Tensor& t) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": undefined tensor");
  check_device(g, op, t);
  if (!t.is_contiguous()) {
    throw std::invalid_argument(where(g, op) +
                                ": needs a contiguous tensor (call .contiguous() first)");
  }
  if (t.is_sparse()) throw std::invalid_argument(where(g, op) + ": sparse tensors are not supported");
}

inline void check_dense(const PgBox& g, const char* op, const at::Tensor& t) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": undefined tensor");
  check_device(g, op, t);
  if (t.layout() != at::kStrided) {
    throw std::invalid_argument(where(g, op) + ": sparse tensors are not supported");
  }
}

inline void check_average(const PgBox& g, const char* op, const at::Tensor& t) {
  if (!at::isFloatingType(t.scalar_type())) {
    throw std::invalid_argument(where(g, op) +
                                ": average needs a floating-point tensor (use sum for integers)");
  }
}

// Sums a tensor over the ranks in place and waits (one all-reduce; the error
// names `op`, the rank and the timeout).
inline void all_reduce_sum(const PgBox& g, const char* op, at::Tensor& x) {
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::SUM;
  o.timeout = g.timeout;
  std::vector<at::Tensor> ts{x};
  run_collective(g, op, [&] { return g.pg->allreduce(ts, o); });
}

// Bucket plan over `order` (indices into tensors): a new bucket starts where
// the dtype changes or the next tensor would take it past its cap (a tensor
// larger than the cap gets a bucket of its own); the first bucket's cap is
// first_bytes, the others' bucket_bytes. Returns the tensors' indices per bucket.
inline std::vector<std::vector<size_t>> plan_buckets(const std::vector<at::Tensor>& tensors,
                                              const std::vector<size_t>& order,
                                              int64_t bucket_bytes, int64_t first_bytes) {
  std::vector<std::vector<size_t>> buckets;
  int64_t bytes = 0;
  for (size_t i : order) {
    const int64_t b = tensors[i].numel() * static_cast<int64_t>(tensors[i].element_size());
    const int64_t cap = buckets.size() == 1 ? first_bytes : bucket_bytes;  // the open bucket's
    const bool fresh = buckets.empty() ||
                       tensors[buckets.back().front()].scalar_type() != tensors[i].scalar_type() ||
                       bytes + b > cap;
    if (fresh) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += b;
  }
  return buckets;
}

inline std::vector<size_t> in_order(size_t n) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; i++) order[i] = i;
  return order;
}

// The backends, each in its own unit (the only one that sees its headers).
// `group` is the group's store, already under the prefixes
// init_process_group gives it. Both throw a one-line reason on failure.
#ifdef TT_WITH_GLOO
c10::intrusive_ptr<BackendBase> make_gloo(const c10::intrusive_ptr<c10d::Store>& group, int rank,
                                          int size, ms timeout);
#endif
#ifdef TT_WITH_NCCL
c10::intrusive_ptr<BackendBase> make_nccl(const c10::intrusive_ptr<c10d::Store>& group, int rank,
                                          int size, ms timeout);
#endif

}  // namespace tt::dist

#endif  // TT_WITH_C10D
