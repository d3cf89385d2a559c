// Seeds, threads, CUDA queries, RNG state and version.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <mutex>
#include <stdexcept>

using namespace tt;

static const at::Generator& generator_of(int32_t device) {
  return at::globalContext().defaultGenerator(device_of(device));
}

extern "C" {

int32_t tt_manual_seed(uint64_t seed) { PROTECT(at::manual_seed(seed)) }

int32_t tt_set_num_threads(int32_t n) {
  PROTECT({
    if (n < 1) throw std::invalid_argument("thread count must be >= 1");
    at::set_num_threads(n);
  })
}

int32_t tt_get_num_threads(int32_t* out) { PROTECT(*out = at::get_num_threads()) }

int32_t tt_cuda_is_available(int32_t* out) { PROTECT(*out = torch::cuda::is_available()) }

int32_t tt_cuda_device_count(int32_t* out) {
  PROTECT(*out = static_cast<int32_t>(torch::cuda::device_count()))
}

int32_t tt_cuda_synchronize(int32_t device) { PROTECT(torch::cuda::synchronize(device)) }

int32_t tt_set_cudnn_benchmark(int32_t flag) {
  PROTECT(at::globalContext().setBenchmarkCuDNN(flag != 0))
}

int32_t tt_rng_get_state(int32_t device, tt_tensor* out) {
  PROTECT({
    auto gen = generator_of(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    put(out, gen.get_state());
  })
}

int32_t tt_rng_set_state(int32_t device, tt_tensor state) {
  PROTECT({
    auto gen = generator_of(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(T(state));
  })
}

int32_t tt_autocast(int32_t enabled, int32_t dtype, int32_t* prev) {
  PROTECT({
    // CUDA autocast is thread-local; the shim runs tensor ops on one thread.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    if (prev) *prev = at::autocast::is_autocast_enabled(at::kCUDA);
    if (enabled >= 0) {
      if (enabled) at::autocast::set_autocast_dtype(at::kCUDA, dtype_of(dtype));
      at::autocast::set_autocast_enabled(at::kCUDA, enabled != 0);
    }
#else
    if (prev) *prev = at::autocast::is_enabled();
    if (enabled >= 0) {
      if (enabled) at::autocast::set_autocast_gpu_dtype(dtype_of(dtype));
      at::autocast::set_enabled(enabled != 0);
    }
#endif
    // Leaving the outermost autocast region drops the cast-weight cache, as
    // torch.autocast's __exit__ does.
    if (enabled == 0) at::autocast::clear_cache();
  })
}

const char* tt_torch_version(void) { return TORCH_VERSION; }

int32_t tt_compiled_with_cuda(void) {
#ifdef TT_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}

}  // extern "C"
