// Errors, memory, creation, metadata, conversion, views and joins.
#include "common.h"

#include <cstring>
#include <stdexcept>

namespace tt {

static thread_local std::string last_error;

void set_error(const char* msg) { last_error = msg ? msg : "unknown error"; }

at::Device device_of(int32_t d) {
  if (d == -1) return at::Device(at::kCPU);
  if (d >= 0) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(d));
  throw std::invalid_argument("unknown device code " + std::to_string(d) +
                              " (use -1 for the CPU or n >= 0 for CUDA device n)");
}

int32_t device_code(const at::Device& d) {
  if (d.is_cpu()) return -1;
  if (d.is_cuda()) return d.has_index() ? d.index() : 0;
  return -100;  // a device this shim does not name (mps, xla, ...)
}

// tt_dtype's codes are c10::ScalarType's values, so tt_info reports a tensor's
// scalar type as its code.
static_assert(TT_DTYPE_UINT8 == static_cast<int>(at::kByte), "tt_dtype");
static_assert(TT_DTYPE_INT8 == static_cast<int>(at::kChar), "tt_dtype");
static_assert(TT_DTYPE_INT16 == static_cast<int>(at::kShort), "tt_dtype");
static_assert(TT_DTYPE_INT32 == static_cast<int>(at::kInt), "tt_dtype");
static_assert(TT_DTYPE_INT64 == static_cast<int>(at::kLong), "tt_dtype");
static_assert(TT_DTYPE_FLOAT16 == static_cast<int>(at::kHalf), "tt_dtype");
static_assert(TT_DTYPE_FLOAT32 == static_cast<int>(at::kFloat), "tt_dtype");
static_assert(TT_DTYPE_FLOAT64 == static_cast<int>(at::kDouble), "tt_dtype");
static_assert(TT_DTYPE_BOOL == static_cast<int>(at::kBool), "tt_dtype");
static_assert(TT_DTYPE_BFLOAT16 == static_cast<int>(at::kBFloat16), "tt_dtype");

at::ScalarType dtype_of(int32_t code) {
  switch (code) {
    case TT_DTYPE_UINT8: case TT_DTYPE_INT8: case TT_DTYPE_INT16: case TT_DTYPE_INT32:
    case TT_DTYPE_INT64: case TT_DTYPE_FLOAT16: case TT_DTYPE_FLOAT32: case TT_DTYPE_FLOAT64:
    case TT_DTYPE_BOOL: case TT_DTYPE_BFLOAT16:
      return static_cast<at::ScalarType>(code);
    default:
      throw std::invalid_argument("unsupported dtype code " + std::to_string(code) +
                                  " (supported: uint8, int8, int16, int32, int64, float16, "
                                  "float32, float64, bool, bfloat16)");
  }
}

std::vector<at::Tensor> list(const tt_tensor* hs, int64_t n) {
  if (n < 0) throw std::invalid_argument("negative list length");
  if (n > 0 && hs == nullptr) throw std::invalid_argument("null tensor list");
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) v.push_back(T(hs[i]));
  return v;
}

static at::TensorOptions options(int32_t dtype, int32_t device) {
  return at::TensorOptions().dtype(dtype_of(dtype)).device(device_of(device));
}

}  // namespace tt

using namespace tt;

extern "C" {

const char* tt_last_error(void) { return last_error.c_str(); }

int32_t tt_free(tt_tensor t) { PROTECT(delete reinterpret_cast<at::Tensor*>(t)) }

int32_t tt_free_list(const tt_tensor* ts, int64_t n) {
  PROTECT(for (int64_t i = 0; i < n; i++) delete reinterpret_cast<at::Tensor*>(ts[i]))
}

int32_t tt_from_data(const void* data, int64_t nbytes, const int64_t* shape, int64_t ndim,
                     int32_t dtype, int32_t device, int32_t requires_grad, tt_tensor* out) {
  PROTECT({
    auto sizes = dims(shape, ndim);
    auto st = dtype_of(dtype);
    int64_t numel = c10::multiply_integers(sizes);
    int64_t want = numel * static_cast<int64_t>(c10::elementSize(st));
    if (nbytes != want)
      throw std::invalid_argument("data has " + std::to_string(nbytes) + " bytes but shape " +
                                  c10::str(sizes) + " of " + c10::toString(st) + " needs " +
                                  std::to_string(want));
    auto t = at::empty(sizes, at::TensorOptions().dtype(st));
    if (want > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(want));
    if (device != -1) t = t.to(device_of(device));
    if (requires_grad) t.set_requires_grad(true);
    put(out, t);
  })
}

int32_t tt_full(const int64_t* shape, int64_t ndim, double value, int32_t dtype, int32_t device,
                int32_t requires_grad, tt_tensor* out) {
  PROTECT({
    auto t = at::full(dims(shape, ndim), value, options(dtype, device));
    if (requires_grad) t.set_requires_grad(true);
    put(out, t);
  })
}

int32_t tt_empty(const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device, tt_tensor* out) {
  PROTECT(put(out, at::empty(dims(shape, ndim), options(dtype, device))))
}

int32_t tt_rand(int32_t kind, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device,
                tt_tensor* out) {
  PROTECT({
    switch (kind) {
      case TT_RAND_UNIFORM: put(out, at::rand(dims(shape, ndim), options(dtype, device))); break;
      case TT_RAND_NORMAL: put(out, at::randn(dims(shape, ndim), options(dtype, device))); break;
      default: throw std::invalid_argument("unknown random kind " + std::to_string(kind));
    }
  })
}

int32_t tt_randint(int64_t low, int64_t high, const int64_t* shape, int64_t ndim, int32_t dtype,
                   int32_t device, tt_tensor* out) {
  PROTECT(put(out, at::randint(low, high, dims(shape, ndim), options(dtype, device))))
}

int32_t tt_randperm(int64_t n, int32_t device, tt_tensor* out) {
  PROTECT(put(out, at::randperm(n, options(TT_DTYPE_INT64, device))))
}

int32_t tt_arange(double start, double end, double step, int32_t dtype, int32_t device,
                  tt_tensor* out) {
  PROTECT(put(out, at::arange(start, end, step, options(dtype, device))))
}

int32_t tt_like(int32_t kind, tt_tensor a, double value, tt_tensor* out) {
  PROTECT({
    auto& x = T(a);
    switch (kind) {
      case TT_LIKE_ZEROS: put(out, at::zeros_like(x)); break;
      case TT_LIKE_ONES: put(out, at::ones_like(x)); break;
      case TT_LIKE_FULL: put(out, at::full_like(x, value)); break;
      case TT_LIKE_EMPTY: put(out, at::empty_like(x)); break;
      case TT_LIKE_RAND: put(out, at::rand_like(x)); break;
      case TT_LIKE_RANDN: put(out, at::randn_like(x)); break;
      default: throw std::invalid_argument("unknown *_like kind " + std::to_string(kind));
    }
  })
}

int32_t tt_info(tt_tensor a, int64_t* out, int64_t cap) {
  PROTECT({
    auto& x = T(a);
    int64_t nd = x.dim();
    if (cap < 8 + nd) throw std::invalid_argument("info buffer too small");
    out[0] = static_cast<int64_t>(x.scalar_type());
    out[1] = device_code(x.device());
    out[2] = nd;
    out[3] = x.requires_grad();
    out[4] = x.is_contiguous();
    out[5] = x.numel();
    out[6] = x.is_leaf();
    out[7] = x.is_leaf() && x.grad().defined();  // grad() on a non-leaf warns
    for (int64_t i = 0; i < nd; i++) out[8 + i] = x.size(i);
  })
}

int32_t tt_to(tt_tensor a, int32_t dtype, int32_t device, int32_t copy, tt_tensor* out) {
  PROTECT({
    auto& x = T(a);
    auto st = dtype == -1 ? x.scalar_type() : dtype_of(dtype);
    auto dev = device == -2 ? x.device() : device_of(device);
    put(out, x.to(dev, st, /*non_blocking=*/false, /*copy=*/copy != 0));
  })
}

int32_t tt_contiguous(tt_tensor a, int32_t memory_format, tt_tensor* out) {
  PROTECT({
    const auto& t = T(a);
    if (memory_format == TT_FORMAT_CONTIGUOUS) {
      put(out, t.contiguous());
      return 0;
    }
    if (memory_format != TT_FORMAT_CHANNELS_LAST)
      throw std::invalid_argument("unknown memory format " + std::to_string(memory_format));
    auto r = t.contiguous(at::MemoryFormat::ChannelsLast);
    // With one channel, NCHW memory already counts as channels-last contiguous,
    // yet its strides still make ATen (and oneDNN) pick NCHW kernels. Restride
    // as PyTorch's .to(memory_format=torch.channels_last) does.
    if (r.dim() == 4 && r.suggest_memory_format() != at::MemoryFormat::ChannelsLast) {
      r = r.to(r.options(), false, true, at::MemoryFormat::ChannelsLast);
    }
    put(out, r);
  })
}

int32_t tt_memory_format(tt_tensor a, int32_t* out) {
  PROTECT(*out = T(a).suggest_memory_format() == at::MemoryFormat::ChannelsLast
                     ? TT_FORMAT_CHANNELS_LAST
                     : TT_FORMAT_CONTIGUOUS)
}

int32_t tt_clone(tt_tensor a, tt_tensor* out) { PROTECT(put(out, T(a).clone())) }

int32_t tt_detach(tt_tensor a, tt_tensor* out) { PROTECT(put(out, T(a).detach())) }

int32_t tt_copy_to_buffer(tt_tensor a, void* buf, int64_t nbytes) {
  PROTECT({
    auto x = T(a).detach().to(at::kCPU).contiguous();
    int64_t have = x.numel() * static_cast<int64_t>(x.element_size());
    if (have != nbytes)
      throw std::invalid_argument("buffer has " + std::to_string(nbytes) +
                                  " bytes, tensor needs " + std::to_string(have));
    if (have > 0) std::memcpy(buf, x.data_ptr(), static_cast<size_t>(have));
  })
}

int32_t tt_item(tt_tensor a, double* out) { PROTECT(*out = T(a).item<double>()) }

int32_t tt_reshape(tt_tensor a, const int64_t* shape, int64_t ndim, tt_tensor* out) {
  PROTECT(put(out, T(a).reshape(dims(shape, ndim))))
}

int32_t tt_view(tt_tensor a, const int64_t* shape, int64_t ndim, tt_tensor* out) {
  PROTECT(put(out, T(a).view(dims(shape, ndim))))
}

int32_t tt_permute(tt_tensor a, const int64_t* d, int64_t ndim, tt_tensor* out) {
  PROTECT(put(out, T(a).permute(dims(d, ndim))))
}

int32_t tt_transpose(tt_tensor a, int64_t d0, int64_t d1, tt_tensor* out) {
  PROTECT(put(out, T(a).transpose(d0, d1)))
}

int32_t tt_flatten(tt_tensor a, int64_t start, int64_t end, tt_tensor* out) {
  PROTECT(put(out, T(a).flatten(start, end)))
}

int32_t tt_squeeze(tt_tensor a, int64_t dim, int32_t all, tt_tensor* out) {
  PROTECT(put(out, all ? T(a).squeeze() : T(a).squeeze(dim)))
}

int32_t tt_unsqueeze(tt_tensor a, int64_t dim, tt_tensor* out) {
  PROTECT(put(out, T(a).unsqueeze(dim)))
}

int32_t tt_narrow(tt_tensor a, int64_t dim, int64_t start, int64_t length, tt_tensor* out) {
  PROTECT(put(out, T(a).narrow(dim, start, length)))
}

int32_t tt_slice(tt_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step,
                 tt_tensor* out) {
  PROTECT(put(out, T(a).slice(dim, start, end, step)))
}

int32_t tt_select(tt_tensor a, int64_t dim, int64_t index, tt_tensor* out) {
  PROTECT(put(out, T(a).select(dim, index)))
}

int32_t tt_index_select(tt_tensor a, int64_t dim, tt_tensor index, tt_tensor* out) {
  PROTECT(put(out, T(a).index_select(dim, T(index))))
}

int32_t tt_gather(tt_tensor a, int64_t dim, tt_tensor index, tt_tensor* out) {
  PROTECT(put(out, T(a).gather(dim, T(index))))
}

int32_t tt_scatter_add(tt_tensor a, int64_t dim, tt_tensor index, tt_tensor src, tt_tensor* out) {
  PROTECT(put(out, T(a).scatter_add(dim, T(index), T(src))))
}

int32_t tt_expand(tt_tensor a, const int64_t* shape, int64_t ndim, tt_tensor* out) {
  PROTECT(put(out, T(a).expand(dims(shape, ndim))))
}

int32_t tt_repeat(tt_tensor a, const int64_t* reps, int64_t ndim, tt_tensor* out) {
  PROTECT(put(out, T(a).repeat(dims(reps, ndim))))
}

int32_t tt_flip(tt_tensor a, const int64_t* d, int64_t ndim, tt_tensor* out) {
  PROTECT(put(out, T(a).flip(dims(d, ndim))))
}

int32_t tt_cat(const tt_tensor* ts, int64_t n, int64_t dim, tt_tensor* out) {
  PROTECT(put(out, at::cat(list(ts, n), dim)))
}

int32_t tt_stack(const tt_tensor* ts, int64_t n, int64_t dim, tt_tensor* out) {
  PROTECT(put(out, at::stack(list(ts, n), dim)))
}

static void put_many(const std::vector<at::Tensor>& parts, tt_tensor* outs, int64_t cap,
                     int64_t* count) {
  if (static_cast<int64_t>(parts.size()) > cap)
    throw std::invalid_argument("result has " + std::to_string(parts.size()) +
                                " tensors, room for " + std::to_string(cap));
  for (size_t i = 0; i < parts.size(); i++) outs[i] = wrap(parts[i]);
  *count = static_cast<int64_t>(parts.size());
}

int32_t tt_chunk(tt_tensor a, int64_t chunks, int64_t dim, tt_tensor* outs, int64_t cap,
                 int64_t* count) {
  PROTECT(put_many(T(a).chunk(chunks, dim), outs, cap, count))
}

int32_t tt_split(tt_tensor a, const int64_t* sizes, int64_t nsizes, int64_t dim, tt_tensor* outs,
                 int64_t cap, int64_t* count) {
  PROTECT(put_many(T(a).split_with_sizes(dims(sizes, nsizes), dim), outs, cap, count))
}

}  // extern "C"
