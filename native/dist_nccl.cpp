// The NCCL backend: c10d's ProcessGroupNCCL (CUDA tensors). The only unit that
// includes NCCL's and CUDA's headers (-DUSE_C10D_NCCL and their -I are this
// unit's flags alone). Built on every CUDA libtorch 2.x where nccl.h, libnccl
// and CUDA's headers are found, with or without Gloo.
#include "dist_common.h"

#if defined(TT_WITH_C10D) && defined(TT_WITH_NCCL)

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

namespace tt::dist {

c10::intrusive_ptr<BackendBase> make_nccl(const c10::intrusive_ptr<c10d::Store>& group, int rank,
                                          int size, ms timeout) {
  // Communicators are made on the first collective, for the device of its
  // tensors (as in PyTorch without device_id).
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(group, rank, size, opts);
}

}  // namespace tt::dist

#endif
