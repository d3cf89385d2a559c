// c10d process groups over Gloo: TCPStore/PrefixStore handles, the default
// process group built exactly as PyTorch's init_process_group builds it (so a
// PyTorch rank and a Deno rank share one group), and the collectives.
//
// Compiled with -DUSE_C10D_GLOO -DTT_WITH_GLOO when scripts/build_native.ts
// finds Gloo's headers; without them every function fails with kNoGloo. On a
// CUDA libtorch 2.x whose c10d NCCL headers, nccl.h and CUDA's headers are
// found (pip's torch with the nvidia wheels), also -DUSE_C10D_NCCL
// -DTT_WITH_NCCL: backend "nccl" is then c10d's ProcessGroupNCCL, the same
// collectives on CUDA tensors.
//
// Built and tested on libtorch 1.13 (Debian 12) and 2.14 (pip). The
// TORCH_VERSION_MAJOR >= 2 branches follow 2.x's API (Gloo and NCCL are
// c10d::Backends there, with the same collectives and Options) and 2.x's
// store layout (torch/distributed/distributed_c10d.py). pip's torch 2.x
// wheels ship no gloo/ headers: see findGloo() in scripts/build_native.ts.
#include "common.h"

#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifdef TT_WITH_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#endif
#ifdef TT_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

using namespace tt;

#if defined(TT_WITH_NCCL) && !defined(TT_WITH_GLOO)
#error "TT_WITH_NCCL needs TT_WITH_GLOO (the stores are built with it)"
#endif

namespace {

const char* const kNoGloo =
    "this shim was built without Gloo: apt-get install libgloo-dev and rebuild "
    "(deno task build)";

#ifdef TT_WITH_GLOO

using ms = std::chrono::milliseconds;

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
};

// The collectives' interface: c10d::Backend in 2.x (Gloo and NCCL both
// derive from it), c10d::ProcessGroup in 1.13.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif

struct PgBox {
  c10::intrusive_ptr<BackendBase> pg;
  int rank;
  int size;
  ms timeout;
  bool nccl;  // CUDA tensors (NCCL) instead of CPU tensors (Gloo)
};

StoreBox& S(tt_store h) {
  if (h == nullptr) throw std::invalid_argument("null store handle (was the store freed?)");
  return *reinterpret_cast<StoreBox*>(h);
}

PgBox& P(tt_pg h) {
  if (h == nullptr) {
    throw std::invalid_argument("null process group handle (was it destroyed?)");
  }
  return *reinterpret_cast<PgBox*>(h);
}

ms positive_timeout(int64_t timeout_ms) {
  if (timeout_ms <= 0) throw std::invalid_argument("timeout must be > 0 ms");
  return ms(timeout_ms);
}

std::string where(const PgBox& g, const char* op) {
  std::ostringstream s;
  s << op << " (" << (g.nccl ? "nccl, " : "") << "rank " << g.rank << " of " << g.size
    << ", timeout " << g.timeout.count() << " ms)";
  return s.str();
}

// The message of the exception in flight, without libtorch's backtrace.
std::string current_message() {
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
void wait_work(const PgBox& g, const char* op, const c10::intrusive_ptr<c10d::Work>& w) {
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
void check_device(const PgBox& g, const char* op, const at::Tensor& t) {
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

void check_tensor(const PgBox& g, const char* op, const at::Tensor& t) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": undefined tensor");
  check_device(g, op, t);
  if (!t.is_contiguous()) {
    throw std::invalid_argument(where(g, op) +
                                ": needs a contiguous tensor (call .contiguous() first)");
  }
  if (t.is_sparse()) throw std::invalid_argument(where(g, op) + ": sparse tensors are not supported");
}

void check_dense(const PgBox& g, const char* op, const at::Tensor& t) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": undefined tensor");
  check_device(g, op, t);
  if (t.layout() != at::kStrided) {
    throw std::invalid_argument(where(g, op) + ": sparse tensors are not supported");
  }
}

c10d::ReduceOp reduce_op(int32_t op) {
  switch (op) {
    case TT_RED_SUM:
    case TT_RED_AVG:
      return c10d::ReduceOp::SUM;
    case TT_RED_PRODUCT:
      return c10d::ReduceOp::PRODUCT;
    case TT_RED_MIN:
      return c10d::ReduceOp::MIN;
    case TT_RED_MAX:
      return c10d::ReduceOp::MAX;
    default:
      throw std::invalid_argument("unknown reduce op code " + std::to_string(op));
  }
}

void check_average(const PgBox& g, const char* op, const at::Tensor& t) {
  if (!at::isFloatingType(t.scalar_type())) {
    throw std::invalid_argument(where(g, op) +
                                ": average needs a floating-point tensor (use sum for integers)");
  }
}

// Gloo devices as PyTorch's ProcessGroupGloo binding makes them: one per
// interface named in GLOO_SOCKET_IFNAME (comma-separated), else the default
// device (this host's address, falling back to loopback). Both sides must end
// up with the same number of devices.
std::vector<std::shared_ptr<::gloo::transport::Device>> gloo_devices() {
  std::vector<std::shared_ptr<::gloo::transport::Device>> devices;
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname != nullptr && std::string(ifname).size() > 1) {
    std::stringstream ss(ifname);
    std::string iface;
    while (std::getline(ss, iface, ',')) {
      if (!iface.empty()) {
        devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
      }
    }
  }
  if (devices.empty()) devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  return devices;
}

// 1.13's _store_based_barrier: every rank adds 1 to the key, then polls it
// (with add(key, 0)) until it equals the world size.
void store_barrier_1x(c10d::Store& store, const std::string& key, int world, ms timeout) {
  store.add(key, 1);
  const auto start = std::chrono::steady_clock::now();
  int64_t count = store.add(key, 0);
  while (count != world) {
    if (std::chrono::steady_clock::now() - start > timeout) {
      throw std::runtime_error("init_process_group: store-based barrier timed out after " +
                               std::to_string(timeout.count()) + " ms (" + std::to_string(count) +
                               " of " + std::to_string(world) + " ranks joined)");
    }
    std::this_thread::sleep_for(ms(10));
    count = store.add(key, 0);
  }
}

#if TORCH_VERSION_MAJOR >= 2
// 2.x's _store_based_barrier (only when TORCH_DIST_INIT_BARRIER=1, as there):
// add 1; the rank that completes the count sets "<key>:last_worker"; all wait
// for that key.
void store_barrier_2x(c10d::Store& store, const std::string& key, int world, ms timeout) {
  const int64_t count = store.add(key, 1);
  const std::string last = key + ":last_worker";
  if (count == world) store.set(last, std::vector<uint8_t>{'1'});
  store.wait({last}, timeout);
}
#endif

// Sums a tensor over the ranks in place and waits (one all-reduce; the error
// names `op`, the rank and the timeout).
void all_reduce_sum(const PgBox& g, const char* op, at::Tensor& x) {
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::SUM;
  o.timeout = g.timeout;
  std::vector<at::Tensor> ts{x};
  run_collective(g, op, [&] { return g.pg->allreduce(ts, o); });
}

// Sums every flat bucket over the ranks: all launched, then all waited (the
// first failure is reported once every launched op has finished, so none
// still writes); divides each by the world size when `average`.
void all_reduce_flats(const PgBox& g, const char* op, std::vector<at::Tensor>& flats,
                      bool average) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::string error;
  for (auto& flat : flats) {
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = g.timeout;
    std::vector<at::Tensor> one{flat};
    try {
      works.push_back(g.pg->allreduce(one, o));
    } catch (...) {
      error = where(g, op) + ": " + current_message();
      break;
    }
  }
  for (size_t k = 0; k < works.size(); k++) {
    try {
      wait_work(g, op, works[k]);
    } catch (const std::exception& e) {
      if (error.empty()) error = e.what();
    }
    // Each bucket is divided as soon as it is done, while later ones may
    // still be in flight.
    if (average && error.empty()) flats[k].div_(g.size);
  }
  if (!error.empty()) throw std::runtime_error(error);
}

// The group, kept alive by the autograd graph until its backward ran (the
// capsule holds a reference to the ProcessGroupGloo, so destroying the JS-side
// group before backward does not leave a dangling pointer).
struct PgRef : torch::CustomClassHolder {
  explicit PgRef(PgBox b) : box(std::move(b)) {}
  PgBox box;
};

const char* const kArForward = "all_reduce (SyncBatchNorm statistics, forward)";
const char* const kArBackward = "all_reduce (SyncBatchNorm statistics, backward)";

// torch.distributed.nn.functional.all_reduce(SUM): forward sums a copy of the
// input over the ranks, backward sums the incoming gradient over the ranks
// (the gradient of a sum that every rank consumes). SyncBatchNorm packs its
// per-channel sums and counts through it.
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const PgBox* g) {
    at::Tensor y = x.detach().clone(at::MemoryFormat::Contiguous);
    all_reduce_sum(*g, kArForward, y);
    ctx->saved_data["pg"] = c10::IValue::make_capsule(
        c10::intrusive_ptr<torch::CustomClassHolder>(c10::make_intrusive<PgRef>(*g)));
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto holder = ctx->saved_data["pg"].toCapsule();
    const PgBox& g = static_cast<PgRef*>(holder.get())->box;
    at::Tensor grad = grads[0].defined() ? grads[0].clone(at::MemoryFormat::Contiguous)
                                         : at::Tensor();
    if (grad.defined()) all_reduce_sum(g, kArBackward, grad);
    return {grad, at::Tensor()};
  }
};

#endif  // TT_WITH_GLOO

// Bucket plan over `order` (indices into tensors): a new bucket starts where
// the dtype changes or the next tensor would take it past its cap (a tensor
// larger than the cap gets a bucket of its own); the first bucket's cap is
// first_bytes, the others' bucket_bytes. Returns the tensors' indices per bucket.
std::vector<std::vector<size_t>> plan_buckets(const std::vector<at::Tensor>& tensors,
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

std::vector<size_t> in_order(size_t n) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; i++) order[i] = i;
  return order;
}

// DistributedDataParallel's gradient buckets (PyTorch DDP's
// gradient_as_bucket_view): flat storage per bucket, and for each parameter a
// slot in it with the parameter's shape and strides. Once a gradient is its
// slot, backward accumulates into the bucket in place and the all-reduce needs
// no copy in or out.
//
// Buckets follow the parameters in reverse (backward makes the last layers'
// gradients first) and the first is capped at 1 MB, as PyTorch DDP's: armed
// (tt_grad_buckets_arm), a hook on each parameter's gradient accumulator
// marks it ready during backward and launches every bucket whose gradients
// are all ready, in bucket order (every rank issues the same collectives in
// the same order), so the all-reduce runs while backward goes on. What
// backward did not launch, tt_grad_buckets_launch launches; finish waits.
struct GradBuckets {
  std::vector<at::Tensor> params;
  std::vector<at::Tensor> slots;    // one per parameter, a view of its bucket
  std::vector<at::Tensor> buckets;  // flat, one dtype each, in launch order
  std::vector<size_t> bucket_of;    // per parameter
  std::vector<int64_t> sizes;       // parameters per bucket
  std::mutex mu;                    // hooks may run on autograd's device threads
  size_t next = 0;                  // buckets launched this iteration
  int64_t early = 0;                // of them, launched by the hooks
  int64_t last_early = 0;           // `early` of the last finished iteration
#ifdef TT_WITH_GLOO
  std::vector<c10::intrusive_ptr<c10d::Work>> works;  // per launched bucket
  std::unique_ptr<PgBox> group;     // the group of this iteration's launches
  bool armed = false;               // hooks registered (they launch on `group`)
  bool hooks_on = true;             // off inside DDP's noSync()
  std::vector<int64_t> pending;     // per bucket: gradients not yet ready
  std::vector<char> ready;          // per parameter
  std::string error;                // the first failure seen by a hook
  std::vector<decltype(torch::autograd::impl::grad_accumulator(std::declval<const at::Tensor&>()))>
      accumulators;                 // kept alive, as the Reducer does: hooks live on them
  std::vector<uintptr_t> hook_keys;
#endif
};

struct GradBucketsBox {
  std::shared_ptr<GradBuckets> p;
};

GradBuckets& B(tt_grad_buckets h) {
  if (h == nullptr) throw std::invalid_argument("null gradient buckets handle (were they freed?)");
  return *reinterpret_cast<GradBucketsBox*>(h)->p;
}

bool is_slot(const at::Tensor& g, const at::Tensor& slot) {
  return g.defined() && g.data_ptr() == slot.data_ptr() && g.sizes().equals(slot.sizes()) &&
         g.strides().equals(slot.strides()) && g.scalar_type() == slot.scalar_type();
}

// Makes parameter i's gradient its slot (copying a fresh one in); false when
// it has none. Called with no gradient recording.
bool bind_one(GradBuckets& box, size_t i) {
  auto& p = box.params[i];
  const at::Tensor& g = p.grad();
  if (!g.defined()) return false;
  if (is_slot(g, box.slots[i])) return true;  // backward accumulated into the bucket
  if (!g.sizes().equals(p.sizes()) || g.scalar_type() != p.scalar_type() ||
      g.device() != p.device()) {
    throw std::invalid_argument("gradient buckets: parameter " + std::to_string(i) +
                                "'s gradient does not match it in shape, dtype or device");
  }
  // A fresh gradient (zero_grad set it to None): into the slot, which
  // becomes the gradient for the next backward to accumulate into.
  box.slots[i].copy_(g);
  p.mutable_grad() = box.slots[i];
  return true;
}

#ifdef TT_WITH_GLOO
const char* const kGradOp = "all_reduce (gradient buckets)";

// Launches bucket box.next (sum); the caller holds box.mu.
void launch_next(GradBuckets& box, const PgBox& g) {
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::SUM;
  o.timeout = g.timeout;
  std::vector<at::Tensor> one{box.buckets[box.next]};
  try {
    box.works.push_back(g.pg->allreduce(one, o));
  } catch (...) {
    throw std::runtime_error(where(g, kGradOp) + ": " + current_message());
  }
  box.next++;
}

// The hook of parameter i, after backward accumulated its gradient.
void on_grad_ready(GradBuckets& box, size_t i) {
  std::lock_guard<std::mutex> lock(box.mu);
  if (!box.armed || !box.hooks_on || !box.error.empty()) return;
  try {
    if (box.ready[i]) {
      throw std::runtime_error(
          "parameter " + std::to_string(i) + "'s gradient was made twice before syncGradients() "
          "(two backward passes): call syncGradients() after each backward, or run the extra "
          "backward passes inside noSync()");
    }
    at::NoGradGuard no_grad;
    if (!bind_one(box, i)) return;
    box.ready[i] = 1;
    if (--box.pending[box.bucket_of[i]] > 0) return;
    while (box.next < box.buckets.size() && box.pending[box.next] == 0) {
      launch_next(box, *box.group);
      box.early++;
    }
  } catch (...) {
    // Reported by syncGradients (after it drained what is in flight), not
    // thrown into autograd's engine halfway through backward.
    box.error = current_message();
  }
}

// Launches every bucket the hooks did not, in bucket order (on `g` unless armed).
void launch_rest(const PgBox& g, GradBuckets& box) {
  std::lock_guard<std::mutex> lock(box.mu);
  if (!box.armed) {
    for (auto& f : box.buckets) check_tensor(g, kGradOp, f);
    box.group = std::make_unique<PgBox>(g);
  }
  while (box.next < box.buckets.size()) launch_next(box, *box.group);
}

void disarm(GradBuckets& box) {
  for (size_t i = 0; i < box.accumulators.size(); i++) {
    if (box.accumulators[i]) box.accumulators[i]->del_post_hook(box.hook_keys[i]);
  }
  box.accumulators.clear();
  box.hook_keys.clear();
  box.armed = false;
}

// Waits for every launched bucket (all of them, even after a failure, so none
// still writes), divides each by the world size when `average`, and starts the
// next iteration. Throws the first failure, a hook's included.
void finish(GradBuckets& box, bool average) {
  std::string error;
  {
    std::lock_guard<std::mutex> lock(box.mu);
    error = box.error;
  }
  const PgBox* g = box.group.get();
  for (size_t k = 0; k < box.works.size(); k++) {
    try {
      if (g != nullptr) wait_work(*g, kGradOp, box.works[k]);
      else box.works[k]->wait();
    } catch (const std::exception& e) {
      if (error.empty()) error = e.what();
    }
    // Each bucket is divided as soon as it is done, while later ones may
    // still be in flight.
    if (average && error.empty() && g != nullptr) box.buckets[k].div_(g->size);
  }
  std::lock_guard<std::mutex> lock(box.mu);
  box.works.clear();
  box.last_early = box.early;
  box.early = 0;
  box.next = 0;
  box.pending = box.sizes;
  std::fill(box.ready.begin(), box.ready.end(), 0);
  box.error.clear();
  if (!error.empty()) throw std::runtime_error(error);
}
#endif  // TT_WITH_GLOO

}  // namespace

extern "C" {

int32_t tt_dist_has_nccl(void) {
#ifdef TT_WITH_NCCL
  return 1;
#else
  return 0;
#endif
}

int32_t tt_dist_has_gloo(void) {
#ifdef TT_WITH_GLOO
  return 1;
#else
  return 0;
#endif
}

int32_t tt_store_new(const char* host, int32_t port, int32_t is_server, int32_t world_size,
                     int64_t timeout_ms, const char* prefix, tt_store* out) {
  PROTECT({
#ifdef TT_WITH_GLOO
    if (host == nullptr || *host == '\0') throw std::invalid_argument("store: empty host");
    if (port < 0 || port > 65535) {
      throw std::invalid_argument("store: port must be in 0..65535, got " + std::to_string(port));
    }
    if (world_size < 1) throw std::invalid_argument("store: world size must be >= 1");
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    // As torch.distributed.rendezvous's _create_c10d_store: the server is
    // multi-tenant, every instance counts itself in and the server waits for
    // world_size of them.
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(port);
    opts.isServer = is_server != 0;
    opts.numWorkers = static_cast<std::size_t>(world_size);
    opts.waitWorkers = true;
    opts.timeout = positive_timeout(timeout_ms);
    opts.multiTenant = is_server != 0;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    // 2.4+ defaults to a libuv store server, whose event loop crashed inside
    // a Deno process (uv_listen, libtorch 2.14.1); the classic server speaks
    // the same protocol to PyTorch's clients.
    opts.useLibUV = false;
#endif
    c10::intrusive_ptr<c10d::Store> store;
    try {
      store = c10::make_intrusive<c10d::TCPStore>(std::string(host), opts);
    } catch (...) {
      throw std::runtime_error(std::string("store ") + (is_server ? "server" : "client") + " at " +
                               host + ":" + std::to_string(port) + " (world size " +
                               std::to_string(world_size) + ", timeout " +
                               std::to_string(timeout_ms) + " ms): " + current_message());
    }
    if (prefix != nullptr && *prefix != '\0') {
      store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), store);
    }
    *out = reinterpret_cast<tt_store>(new StoreBox{std::move(store)});
#else
    (void)host; (void)port; (void)is_server; (void)world_size; (void)timeout_ms; (void)prefix;
    (void)out;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_store_free(tt_store s) {
  PROTECT({
#ifdef TT_WITH_GLOO
    delete reinterpret_cast<StoreBox*>(s);
#else
    (void)s;
#endif
  })
}

int32_t tt_pg_new(tt_store store, int32_t rank, int32_t world_size, const char* backend,
                  int64_t timeout_ms, tt_pg* out) {
  PROTECT({
    const std::string be = backend == nullptr ? "" : backend;
    const bool nccl = be == "nccl";
    if (nccl) {
#if !defined(TT_WITH_NCCL) && defined(TT_WITH_CUDA)
      throw std::invalid_argument(
          "backend \"nccl\": this shim was built with CUDA but without NCCL (the nvidia-nccl "
          "wheel's nccl.h, c10d's ProcessGroupNCCL.hpp or CUDA's headers were not found; "
          "deno task build says which): use \"gloo\"");
#elif !defined(TT_WITH_NCCL)
      throw std::invalid_argument(
          "backend \"nccl\" needs a shim built with CUDA and NCCL; this one is CPU-only: use "
          "\"gloo\"");
#endif
    } else if (be != "gloo") {
      throw std::invalid_argument("unknown backend \"" + be + "\" (supported: \"gloo\", \"nccl\")");
    }
#ifdef TT_WITH_GLOO
    if (world_size < 1) throw std::invalid_argument("init_process_group: world size must be >= 1");
    if (rank < 0 || rank >= world_size) {
      throw std::invalid_argument("init_process_group: rank " + std::to_string(rank) +
                                  " is outside 0.." + std::to_string(world_size - 1));
    }
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    const ms timeout = positive_timeout(timeout_ms);
    auto base = S(store).store;
    base->setTimeout(timeout);
    // init_process_group wraps the rendezvous store in PrefixStore("default_pg")
    // and the default group (named "0") in its own prefix.
    auto default_pg = c10::make_intrusive<c10d::PrefixStore>("default_pg", base);
#if TORCH_VERSION_MAJOR >= 2
    // 2.x: PrefixStore("0/") for the group, then PrefixStore("<device>/") for
    // its one backend (a single backend string registers one backend, for its
    // device: "cpu" for gloo, "cuda" for nccl).
    auto group = c10::make_intrusive<c10d::PrefixStore>(
        nccl ? "cuda/" : "cpu/", c10::make_intrusive<c10d::PrefixStore>("0/", default_pg));
#else
    auto group = c10::make_intrusive<c10d::PrefixStore>("0", default_pg);
#endif
    PgBox box{{}, rank, world_size, timeout, nccl};
    try {
      if (nccl) {
#ifdef TT_WITH_NCCL
        // Communicators are made on the first collective, for the device of
        // its tensors (as in PyTorch without device_id).
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = timeout;
        box.pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(group, rank, world_size, opts);
#endif
      } else {
        auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
        opts->devices = gloo_devices();
        opts->timeout = timeout;
        opts->threads = static_cast<int>(opts->devices.size() * 2);
        auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group, rank, world_size, opts);
#if TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 14
        gloo->setSequenceNumberForGroup();  // a deprecated no-op from 2.14 on
#endif
        box.pg = gloo;
      }
#if TORCH_VERSION_MAJOR >= 2
      const char* init_barrier = std::getenv("TORCH_DIST_INIT_BARRIER");
      if (init_barrier != nullptr && std::string(init_barrier) == "1") {
        store_barrier_2x(*default_pg, "store_based_barrier_key:0", world_size, timeout);
      }
#else
      // The group counter is 1 once group "0" exists; 1.13 numbers the group
      // after the barrier.
      store_barrier_1x(*default_pg, "store_based_barrier_key:1", world_size, timeout);
      box.pg->setSequenceNumberForGroup();
#endif
    } catch (...) {
      std::string msg = current_message();
      if (msg.find("imeout") != std::string::npos || msg.find("timed out") != std::string::npos) {
        msg += " (did all " + std::to_string(world_size) +
               " ranks start and reach init_process_group within the timeout?)";
      }
      throw std::runtime_error(where(box, "init_process_group") + " failed: " + msg);
    }
    *out = reinterpret_cast<tt_pg>(new PgBox(std::move(box)));
#else
    (void)store; (void)rank; (void)world_size; (void)timeout_ms; (void)out; (void)nccl;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_pg_free(tt_pg pg) {
  PROTECT({
#ifdef TT_WITH_GLOO
    delete reinterpret_cast<PgBox*>(pg);
#else
    (void)pg;
#endif
  })
}

int32_t tt_pg_all_reduce(tt_pg pg, tt_tensor t, int32_t op) {
  PROTECT({
#ifdef TT_WITH_GLOO
    auto& g = P(pg);
    auto& x = T(t);
    at::NoGradGuard no_grad;
    check_tensor(g, "all_reduce", x);
    if (op == TT_RED_AVG) check_average(g, "all_reduce", x);
    c10d::AllreduceOptions o;
    o.reduceOp = reduce_op(op);
    o.timeout = g.timeout;
    std::vector<at::Tensor> ts{x};
    run_collective(g, "all_reduce", [&] { return g.pg->allreduce(ts, o); });
    if (op == TT_RED_AVG) x.div_(g.size);
#else
    (void)pg; (void)t; (void)op;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_pg_broadcast(tt_pg pg, tt_tensor t, int32_t src) {
  PROTECT({
#ifdef TT_WITH_GLOO
    auto& g = P(pg);
    auto& x = T(t);
    at::NoGradGuard no_grad;
    check_tensor(g, "broadcast", x);
    if (src < 0 || src >= g.size) {
      throw std::invalid_argument(where(g, "broadcast") + ": src " + std::to_string(src) +
                                  " is outside 0.." + std::to_string(g.size - 1));
    }
    c10d::BroadcastOptions o;
    o.rootRank = src;
    o.rootTensor = 0;
    o.timeout = g.timeout;
    std::vector<at::Tensor> ts{x};
    run_collective(g, "broadcast", [&] { return g.pg->broadcast(ts, o); });
#else
    (void)pg; (void)t; (void)src;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_pg_all_gather(tt_pg pg, tt_tensor t, tt_tensor* outs, int64_t cap) {
  PROTECT({
#ifdef TT_WITH_GLOO
    auto& g = P(pg);
    auto& x = T(t);
    at::NoGradGuard no_grad;
    check_tensor(g, "all_gather", x);
    if (outs == nullptr || cap < g.size) {
      throw std::invalid_argument(where(g, "all_gather") + ": room for " + std::to_string(cap) +
                                  " results, the world has " + std::to_string(g.size));
    }
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int i = 0; i < g.size; i++) outputs[0].push_back(at::empty_like(x));
    std::vector<at::Tensor> inputs{x};
    c10d::AllgatherOptions o;
    o.timeout = g.timeout;
    run_collective(g, "all_gather", [&] { return g.pg->allgather(outputs, inputs, o); });
    for (int i = 0; i < g.size; i++) outs[i] = wrap(outputs[0][i]);
#else
    (void)pg; (void)t; (void)outs; (void)cap;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_pg_barrier(tt_pg pg) {
  PROTECT({
#ifdef TT_WITH_GLOO
    auto& g = P(pg);
    c10d::BarrierOptions o;
    o.timeout = g.timeout;
    run_collective(g, "barrier", [&] { return g.pg->barrier(o); });
#else
    (void)pg;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_pg_all_reduce_buckets(tt_pg pg, const tt_tensor* ts, int64_t n, int64_t bucket_bytes,
                                 int32_t average, int64_t* nbuckets) {
  PROTECT({
#ifdef TT_WITH_GLOO
    auto& g = P(pg);
    at::NoGradGuard no_grad;
    if (bucket_bytes < 1) throw std::invalid_argument("all_reduce_buckets: bucket size must be >= 1 byte");
    auto tensors = list(ts, n);
    for (auto& x : tensors) {
      // Any dense layout (channels-last gradients included): the buckets are
      // flat copies, written back element for element.
      check_dense(g, "all_reduce_buckets", x);
      if (average) check_average(g, "all_reduce_buckets", x);
    }
    const auto buckets = plan_buckets(tensors, in_order(tensors.size()), bucket_bytes, bucket_bytes);
    std::vector<at::Tensor> flats;
    for (auto& bucket : buckets) {
      std::vector<at::Tensor> parts;
      for (size_t i : bucket) parts.push_back(tensors[i].reshape({-1}));
      flats.push_back(at::cat(parts));
    }
    all_reduce_flats(g, "all_reduce_buckets", flats, average != 0);
    for (size_t b = 0; b < buckets.size(); b++) {
      int64_t offset = 0;
      for (size_t i : buckets[b]) {
        auto& x = tensors[i];
        x.copy_(flats[b].narrow(0, offset, x.numel()).view(x.sizes()));
        offset += x.numel();
      }
    }
    if (nbuckets != nullptr) *nbuckets = static_cast<int64_t>(buckets.size());
#else
    (void)pg; (void)ts; (void)n; (void)bucket_bytes; (void)average; (void)nbuckets;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_pg_all_reduce_autograd(tt_pg pg, tt_tensor t, tt_tensor* out) {
  PROTECT({
#ifdef TT_WITH_GLOO
    auto& g = P(pg);
    auto& x = T(t);
    if (!x.defined()) throw std::invalid_argument(where(g, kArForward) + ": undefined tensor");
    check_device(g, kArForward, x);
    if (!at::isFloatingType(x.scalar_type())) {
      throw std::invalid_argument(where(g, kArForward) +
                                  ": needs a floating-point tensor (gradients flow through it)");
    }
    put(out, AllReduceSum::apply(x, &g));
#else
    (void)pg; (void)t; (void)out;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_grad_buckets_new(const tt_tensor* params, int64_t n, int64_t bucket_bytes,
                            tt_grad_buckets* out, int64_t* nbuckets) {
  PROTECT({
    if (bucket_bytes < 1) throw std::invalid_argument("gradient buckets: bucket size must be >= 1 byte");
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    auto box = std::make_shared<GradBuckets>();
    box->params = list(params, n);
    for (auto& p : box->params) {
      if (!p.defined()) throw std::invalid_argument("gradient buckets: undefined parameter");
      if (p.layout() != at::kStrided) {
        throw std::invalid_argument("gradient buckets: sparse parameters are not supported");
      }
    }
    box->slots.resize(box->params.size());
    box->bucket_of.resize(box->params.size());
    std::vector<size_t> reverse = in_order(box->params.size());
    std::reverse(reverse.begin(), reverse.end());
    // PyTorch DDP's first bucket: 1 MB (dist._DEFAULT_FIRST_BUCKET_BYTES).
    const int64_t first = std::min<int64_t>(bucket_bytes, 1 << 20);
    for (auto& bucket : plan_buckets(box->params, reverse, bucket_bytes, first)) {
      int64_t numel = 0;
      for (size_t i : bucket) numel += box->params[i].numel();
      at::Tensor flat = at::zeros({numel}, box->params[bucket.front()].options());
      int64_t offset = 0;
      for (size_t i : bucket) {
        const auto& p = box->params[i];
        at::Tensor part = flat.narrow(0, offset, p.numel());
        // The parameter's own strides where they cover its elements exactly
        // (channels-last weights included), as the gradient backward makes.
        box->slots[i] = p.is_non_overlapping_and_dense()
                            ? part.as_strided(p.sizes(), p.strides())
                            : part.view(p.sizes());
        box->bucket_of[i] = box->buckets.size();
        offset += p.numel();
      }
      box->sizes.push_back(static_cast<int64_t>(bucket.size()));
      box->buckets.push_back(flat);
    }
#ifdef TT_WITH_GLOO
    box->pending = box->sizes;
    box->ready.assign(box->params.size(), 0);
#endif
    if (nbuckets != nullptr) *nbuckets = static_cast<int64_t>(box->buckets.size());
    *out = reinterpret_cast<tt_grad_buckets>(new GradBucketsBox{box});
  })
}

int32_t tt_grad_buckets_free(tt_grad_buckets b) {
  PROTECT({
    auto* h = reinterpret_cast<GradBucketsBox*>(b);
    if (h == nullptr) return 0;
#ifdef TT_WITH_GLOO
    {
      std::lock_guard<std::mutex> lock(h->p->mu);
      disarm(*h->p);
    }
    // What is still in flight holds its bucket (the Work keeps the tensor).
#endif
    delete h;
  })
}

int32_t tt_grad_buckets_bind(tt_grad_buckets b, int64_t* missing, int64_t cap,
                             int64_t* nmissing) {
  PROTECT({
    auto& box = B(b);
    if (nmissing == nullptr) throw std::invalid_argument("null out-pointer");
    at::NoGradGuard no_grad;
    std::lock_guard<std::mutex> lock(box.mu);
    int64_t count = 0;
    for (size_t i = 0; i < box.params.size(); i++) {
      if (bind_one(box, i)) continue;
      if (missing != nullptr && count < cap) missing[count] = static_cast<int64_t>(i);
      count++;
    }
    *nmissing = count;
  })
}

int32_t tt_grad_buckets_arm(tt_pg pg, tt_grad_buckets b) {
  PROTECT({
#ifdef TT_WITH_GLOO
    auto& g = P(pg);
    auto& box = B(b);
    std::shared_ptr<GradBuckets> shared = reinterpret_cast<GradBucketsBox*>(b)->p;
    std::lock_guard<std::mutex> lock(box.mu);
    if (box.armed) throw std::invalid_argument("gradient buckets: already armed");
    if (!box.works.empty()) throw std::invalid_argument("gradient buckets: an iteration is in flight");
    for (auto& f : box.buckets) check_tensor(g, kGradOp, f);
    box.group = std::make_unique<PgBox>(g);
    box.armed = true;
    std::weak_ptr<GradBuckets> weak = shared;
    for (size_t i = 0; i < box.params.size(); i++) {
      auto& p = box.params[i];
      // A parameter that takes no gradient has no accumulator: its bucket
      // waits for syncGradients, which names it.
      auto acc = p.requires_grad() && p.is_leaf() ? torch::autograd::impl::grad_accumulator(p)
                                                  : nullptr;
      uintptr_t key = 0;
      if (acc) {
        key = acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
            [weak, i](const torch::autograd::variable_list& outputs,
                      const torch::autograd::variable_list&) {
              if (auto box = weak.lock()) on_grad_ready(*box, i);
              return outputs;
            }));
      }
      box.accumulators.push_back(acc);
      box.hook_keys.push_back(key);
    }
#else
    (void)pg; (void)b;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_grad_buckets_set_hooks(tt_grad_buckets b, int32_t on) {
  PROTECT({
    auto& box = B(b);
#ifdef TT_WITH_GLOO
    std::lock_guard<std::mutex> lock(box.mu);
    box.hooks_on = on != 0;
#else
    (void)box; (void)on;
#endif
  })
}

int32_t tt_grad_buckets_launch(tt_pg pg, tt_grad_buckets b) {
  PROTECT({
#ifdef TT_WITH_GLOO
    at::NoGradGuard no_grad;
    launch_rest(P(pg), B(b));
#else
    (void)pg; (void)b;
    throw std::runtime_error(kNoGloo);
#endif
  })
}

int32_t tt_grad_buckets_finish(tt_grad_buckets b, int32_t average, int64_t* early) {
  PROTECT({
    auto& box = B(b);
#ifdef TT_WITH_GLOO
    at::NoGradGuard no_grad;
    finish(box, average != 0);
#else
    (void)average;
#endif
    if (early != nullptr) *early = box.last_early;
  })
}

}  // extern "C"
