// The Gloo backend: c10d's ProcessGroupGloo, made as PyTorch's
// init_process_group makes it. The only unit that includes Gloo's headers
// (-DUSE_C10D_GLOO and -I<gloo> are this unit's flags alone).
//
// Which Gloo headers: libtorch links its own Gloo (inside libtorch_cpu in pip's
// wheels, Debian's libgloo for 1.13), and the headers here may be of another
// Gloo commit (Debian's libgloo-dev, or native/third_party/gloo). That is
// safe because this unit uses no Gloo type's layout or code:
// ProcessGroupGloo and its Options hold every Gloo object behind a
// std::shared_ptr (whose size does not depend on the pointee), and the code
// below only calls libtorch's own exported functions (the devices' factory,
// Options::create_default, the ProcessGroupGloo constructor) and moves
// shared_ptrs. scripts/build_native.ts checks it: this unit is compiled
// without inlining and its object must define or call no function in
// namespace gloo (and no vtable or typeinfo of a Gloo class), else the build
// drops Gloo and says why.
#include "dist_common.h"

#if defined(TT_WITH_C10D) && defined(TT_WITH_GLOO)

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <cstdlib>
#include <sstream>

namespace tt::dist {

#ifndef TT_GLOO_CREATE_DEFAULT
namespace {
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
}  // namespace
#endif

c10::intrusive_ptr<BackendBase> make_gloo(const c10::intrusive_ptr<c10d::Store>& group, int rank,
                                          int size, ms timeout) {
#ifdef TT_GLOO_CREATE_DEFAULT
  // libtorch's own defaults (GLOO_SOCKET_IFNAME, else the default device;
  // two threads a device), exactly what torch.distributed uses.
  auto opts = c10d::ProcessGroupGloo::Options::create_default(timeout);
#else
  auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
  opts->devices = gloo_devices();
  opts->threads = static_cast<int>(opts->devices.size() * 2);
#endif
  opts->timeout = timeout;
  auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group, rank, size, opts);
#if TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 14
  gloo->setSequenceNumberForGroup();  // a deprecated no-op from 2.14 on
#endif
  return gloo;
}

}  // namespace tt::dist

#endif
