// Seeds, threads, CUDA queries, RNG state, autocast and version.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <cstdlib>

#include <mutex>
#include <string>
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

// torch.use_deterministic_algorithms(on) with cudnn.deterministic = on and,
// when on, cudnn.benchmark off and cuBLAS's workspace setting (read when a
// cuBLAS handle is made, so set before the first CUDA matmul) unless given.
int32_t tt_set_deterministic(int32_t on) {
  PROTECT({
    auto& ctx = at::globalContext();
    ctx.setDeterministicAlgorithms(on != 0, /*warn_only=*/false);
    ctx.setDeterministicCuDNN(on != 0);
    if (on != 0) {
      ctx.setBenchmarkCuDNN(false);
      if (std::getenv("CUBLAS_WORKSPACE_CONFIG") == nullptr) {
        setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
      }
    }
  })
}

int32_t tt_deterministic_state(int32_t* out) {
  PROTECT({
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    auto& ctx = at::globalContext();
    out[0] = ctx.deterministicAlgorithms() ? 1 : 0;
    out[1] = ctx.deterministicCuDNN() ? 1 : 0;
    out[2] = ctx.benchmarkCuDNN() ? 1 : 0;
  })
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

// Autocast, as torch.autocast's context manager: enter saves the device's
// state (enabled, dtype), turns it on and counts the nesting; exit restores
// the saved state and, leaving the outermost region, drops the cast-weight
// cache. Autocast state is thread-local; the shim runs tensor ops on one
// thread. device_type: a tt_device_type.
static at::DeviceType autocast_device(int32_t device_type) {
  if (device_type == TT_DEVICE_CPU) return at::kCPU;
  if (device_type == TT_DEVICE_CUDA) return at::kCUDA;
  throw std::invalid_argument("unknown autocast device type " + std::to_string(device_type) +
                              " (TT_DEVICE_CPU or TT_DEVICE_CUDA)");
}

static bool autocast_is_enabled(at::DeviceType d) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(d);
#else
  return d == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

static at::ScalarType autocast_dtype(at::DeviceType d) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::get_autocast_dtype(d);
#else
  return d == at::kCPU ? at::autocast::get_autocast_cpu_dtype()
                       : at::autocast::get_autocast_gpu_dtype();
#endif
}

static void autocast_set(at::DeviceType d, bool enabled, at::ScalarType dtype) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_dtype(d, dtype);
  at::autocast::set_autocast_enabled(d, enabled);
#else
  if (d == at::kCPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  } else {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  }
#endif
}

int32_t tt_autocast_enter(int32_t device_type, int32_t dtype, int32_t* prev) {
  PROTECT({
    const auto d = autocast_device(device_type);
    const auto to = dtype_of(dtype);
    prev[0] = autocast_is_enabled(d) ? 1 : 0;
    prev[1] = static_cast<int32_t>(autocast_dtype(d));
    autocast_set(d, true, to);
    at::autocast::increment_nesting();
  })
}

int32_t tt_autocast_exit(int32_t device_type, const int32_t* prev) {
  PROTECT({
    const auto d = autocast_device(device_type);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    autocast_set(d, prev[0] != 0, static_cast<at::ScalarType>(prev[1]));
  })
}

int32_t tt_autocast_enabled(int32_t device_type, int32_t* out) {
  PROTECT(*out = autocast_is_enabled(autocast_device(device_type)) ? 1 : 0)
}

// Whether CUDA device `device` computes in bfloat16 natively (compute
// capability 8.0 or newer, as torch.cuda.is_bf16_supported): read from the
// CUDA driver libtorch has already loaded, so the shim needs no CUDA headers.
// *out = -1 where it cannot tell (no driver loaded).
int32_t tt_cuda_bf16_supported(int32_t device, int32_t* out) {
  PROTECT({
    *out = -1;
    void* h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (h != nullptr) {
      using get_fn = int (*)(int*, int);
      using attr_fn = int (*)(int*, int, int);
      auto get = reinterpret_cast<get_fn>(dlsym(h, "cuDeviceGet"));
      auto attr = reinterpret_cast<attr_fn>(dlsym(h, "cuDeviceGetAttribute"));
      int dev = 0, major = 0;
      // 75: CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
      if (get && attr && get(&dev, device) == 0 && attr(&major, 75, dev) == 0) {
        *out = major >= 8 ? 1 : 0;
      }
      dlclose(h);
    }
  })
}

// Not through PROTECT, so reading the count does not change it.
int32_t tt_ffi_calls(int64_t* out) {
  if (out == nullptr) {
    set_error("tt_ffi_calls: null out-pointer");
    return 1;
  }
  *out = ffi_calls.load(std::memory_order_relaxed);
  return 0;
}

// torch.set_float32_matmul_precision: the string setter is the one both 1.13
// and 2.x have (2.x dropped the enum overload); the getter's enum is in both.
int32_t tt_set_float32_matmul_precision(int32_t mode) {
  PROTECT({
    auto& ctx = at::globalContext();
    switch (mode) {
      case TT_MATMUL_HIGHEST: ctx.setFloat32MatmulPrecision("highest"); break;
      case TT_MATMUL_HIGH: ctx.setFloat32MatmulPrecision("high"); break;
      case TT_MATMUL_MEDIUM: ctx.setFloat32MatmulPrecision("medium"); break;
      default: throw std::invalid_argument("unknown float32 matmul precision code");
    }
  })
}

int32_t tt_float32_matmul_precision(int32_t* out) {
  PROTECT({
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    switch (at::globalContext().float32MatmulPrecision()) {
      case at::Float32MatmulPrecision::HIGHEST: *out = TT_MATMUL_HIGHEST; break;
      case at::Float32MatmulPrecision::HIGH: *out = TT_MATMUL_HIGH; break;
      case at::Float32MatmulPrecision::MEDIUM: *out = TT_MATMUL_MEDIUM; break;
      default: throw std::runtime_error("libtorch reported an unknown float32 matmul precision");
    }
  })
}

// torch.backends.cudnn.allow_tf32 (libtorch's default: on).
int32_t tt_set_cudnn_allow_tf32(int32_t on) {
  PROTECT(at::globalContext().setAllowTF32CuDNN(on != 0))
}

int32_t tt_cudnn_allow_tf32(int32_t* out) {
  PROTECT({
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    *out = at::globalContext().allowTF32CuDNN() ? 1 : 0;
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
