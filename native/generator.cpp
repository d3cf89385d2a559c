// Explicit random generators: seeded streams independent of the global one, so
// augmentation draws are reproducible whatever else consumes random numbers.
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>
#include <stdexcept>

using namespace tt;

static at::Generator& G(tt_generator g) {
  if (g == nullptr) throw std::invalid_argument("null generator handle (was it disposed?)");
  return *reinterpret_cast<at::Generator*>(g);
}

// Null means libtorch's default generator of the device.
static c10::optional<at::Generator> opt_gen(tt_generator g) {
  if (g == nullptr) return c10::nullopt;
  return G(g);
}

extern "C" {

int32_t tt_generator_new(int32_t device, uint64_t seed, tt_generator* out) {
  PROTECT({
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    at::Device d = device_of(device);
    at::Generator gen;
    if (d.is_cpu()) {
      gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    } else {
      // Cloning the device's default generator keeps this file free of CUDA headers.
      at::Generator def = at::globalContext().defaultGenerator(d);
      {
        std::lock_guard<std::mutex> lock(def.mutex());
        gen = def.clone();
      }
      gen.set_current_seed(seed);
    }
    *out = reinterpret_cast<tt_generator>(new at::Generator(std::move(gen)));
  })
}

int32_t tt_generator_free(tt_generator g) {
  PROTECT(delete reinterpret_cast<at::Generator*>(g))
}

int32_t tt_generator_get_state(tt_generator g, tt_tensor* out) {
  PROTECT({
    auto& gen = G(g);
    std::lock_guard<std::mutex> lock(gen.mutex());
    put(out, gen.get_state());
  })
}

int32_t tt_generator_set_state(tt_generator g, tt_tensor state) {
  PROTECT({
    auto& gen = G(g);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(T(state));
  })
}

int32_t tt_rand_gen(int32_t kind, tt_generator g, const int64_t* shape, int64_t ndim,
                    int32_t dtype, int32_t device, tt_tensor* out) {
  PROTECT({
    auto o = at::TensorOptions().dtype(dtype_of(dtype)).device(device_of(device));
    switch (kind) {
      case TT_RAND_UNIFORM: put(out, at::rand(dims(shape, ndim), opt_gen(g), o)); break;
      case TT_RAND_NORMAL: put(out, at::randn(dims(shape, ndim), opt_gen(g), o)); break;
      default: throw std::invalid_argument("unknown random kind " + std::to_string(kind));
    }
  })
}

}  // extern "C"
