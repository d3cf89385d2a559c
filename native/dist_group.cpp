// The default process group, built exactly as PyTorch's init_process_group
// builds it (the same store prefixes and barrier), so a PyTorch rank and a
// Deno rank share one group. The backend itself comes from dist_gloo.cpp or
// dist_nccl.cpp; this unit sees neither Gloo's nor NCCL's headers.
#include "dist_common.h"

#include <cstdlib>
#include <thread>

using namespace tt;

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

}  // extern "C"

#ifdef TT_WITH_C10D

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

using namespace tt::dist;

namespace {

// 1.13's _store_based_barrier: every rank adds 1 to the key, then polls it
// (with add(key, 0)) until it equals the world size.
[[maybe_unused]] void store_barrier_1x(c10d::Store& store, const std::string& key, int world,
                                       ms timeout) {
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

// 2.x's _store_based_barrier (only when TORCH_DIST_INIT_BARRIER=1, as there):
// add 1; the rank that completes the count sets "<key>:last_worker"; all wait
// for that key.
[[maybe_unused]] void store_barrier_2x(c10d::Store& store, const std::string& key, int world,
                                       ms timeout) {
  const int64_t count = store.add(key, 1);
  const std::string last = key + ":last_worker";
  if (count == world) store.set(last, std::vector<uint8_t>{'1'});
  store.wait({last}, timeout);
}

// Why backend `be` cannot be had in this shim, or "" when it can.
std::string missing_backend(const std::string& be) {
  if (be == "nccl") {
#if defined(TT_WITH_NCCL)
    return "";
#elif defined(TT_WITH_CUDA)
    return "backend \"nccl\": this shim was built with CUDA but without NCCL (the nvidia-nccl "
           "wheel's nccl.h, c10d's ProcessGroupNCCL.hpp or CUDA's headers were not found; "
           "deno task build says which): use \"gloo\"";
#else
    return "backend \"nccl\" needs a shim built with CUDA and NCCL; this one is CPU-only: use "
           "\"gloo\"";
#endif
  }
  if (be == "gloo") {
#if defined(TT_WITH_GLOO)
    return "";
#else
    return "backend \"gloo\": this shim was built without Gloo (deno task build says why): use "
           "\"nccl\" with CUDA tensors, or rebuild with Gloo";
#endif
  }
  return "unknown backend \"" + be + "\" (supported: \"gloo\", \"nccl\")";
}

}  // namespace

extern "C" {

int32_t tt_pg_new(tt_store store, int32_t rank, int32_t world_size, const char* backend,
                  int64_t timeout_ms, tt_pg* out) {
  PROTECT({
    const std::string be = backend == nullptr ? "" : backend;
    const std::string missing = missing_backend(be);
    if (!missing.empty()) throw std::invalid_argument(missing);
    const bool nccl = be == "nccl";
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
    c10::intrusive_ptr<c10d::Store> group = c10::make_intrusive<c10d::PrefixStore>(
        nccl ? "cuda/" : "cpu/", c10::make_intrusive<c10d::PrefixStore>("0/", default_pg));
#else
    c10::intrusive_ptr<c10d::Store> group = c10::make_intrusive<c10d::PrefixStore>("0", default_pg);
#endif
    PgBox box{{}, rank, world_size, timeout, nccl};
    try {
#ifdef TT_WITH_NCCL
      if (nccl) box.pg = make_nccl(group, rank, world_size, timeout);
#endif
#ifdef TT_WITH_GLOO
      if (!nccl) box.pg = make_gloo(group, rank, world_size, timeout);
#endif
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
  })
}

int32_t tt_pg_free(tt_pg pg) {
  PROTECT({ delete reinterpret_cast<PgBox*>(pg); })
}

}  // extern "C"

#endif  // TT_WITH_C10D
