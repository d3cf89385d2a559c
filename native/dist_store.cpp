// c10d's TCPStore (and a PrefixStore over it) behind tt_store: the rendezvous
// every process group is built on, the same store PyTorch's ranks use.
#include "dist_common.h"

#ifdef TT_WITH_C10D

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

using namespace tt;
using namespace tt::dist;

extern "C" {

int32_t tt_store_new(const char* host, int32_t port, int32_t is_server, int32_t world_size,
                     int64_t timeout_ms, const char* prefix, tt_store* out) {
  PROTECT({
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
  })
}

int32_t tt_store_free(tt_store s) {
  PROTECT({ delete reinterpret_cast<StoreBox*>(s); })
}

}  // extern "C"

#endif  // TT_WITH_C10D
