// nn functional ops and autograd.
#include "common.h"

#include <ATen/core/Reduction.h>
#include <ATen/native/GridSamplerUtils.h>
#include <c10/core/InferenceMode.h>

#include <memory>
#include <stdexcept>
#include <vector>

using namespace tt;

static at::IntArrayRef pair(const int64_t* p) { return at::IntArrayRef(p, 2); }

// The shim's mode codes (tt.h) to ATen's, name by name.
static int64_t reduction_of(int32_t r) {
  switch (r) {
    case TT_REDUCTION_NONE: return at::Reduction::None;
    case TT_REDUCTION_MEAN: return at::Reduction::Mean;
    case TT_REDUCTION_SUM: return at::Reduction::Sum;
    default: throw std::invalid_argument("unknown reduction " + std::to_string(r));
  }
}

static int64_t sample_mode_of(int32_t m) {
  using I = at::native::detail::GridSamplerInterpolation;
  switch (m) {
    case TT_SAMPLE_BILINEAR: return static_cast<int64_t>(I::Bilinear);
    case TT_SAMPLE_NEAREST: return static_cast<int64_t>(I::Nearest);
    case TT_SAMPLE_BICUBIC: return static_cast<int64_t>(I::Bicubic);
    default: throw std::invalid_argument("unknown grid_sample mode " + std::to_string(m));
  }
}

static int64_t sample_padding_of(int32_t p) {
  using P = at::native::detail::GridSamplerPadding;
  switch (p) {
    case TT_SAMPLE_PAD_ZEROS: return static_cast<int64_t>(P::Zeros);
    case TT_SAMPLE_PAD_BORDER: return static_cast<int64_t>(P::Border);
    case TT_SAMPLE_PAD_REFLECTION: return static_cast<int64_t>(P::Reflection);
    default: throw std::invalid_argument("unknown grid_sample padding mode " + std::to_string(p));
  }
}

static const char* pad_mode_of(int32_t m) {
  switch (m) {
    case TT_PAD_CONSTANT: return "constant";
    case TT_PAD_REFLECT: return "reflect";
    case TT_PAD_REPLICATE: return "replicate";
    case TT_PAD_CIRCULAR: return "circular";
    default: throw std::invalid_argument("unknown pad mode " + std::to_string(m));
  }
}

extern "C" {

int32_t tt_linear(tt_tensor x, tt_tensor w, tt_tensor b, tt_tensor* out) {
  PROTECT(put(out, at::linear(T(x), T(w), opt(b))))
}

int32_t tt_conv2d(tt_tensor x, tt_tensor w, tt_tensor b, const int64_t* stride,
                  const int64_t* padding, const int64_t* dilation, int64_t groups,
                  tt_tensor* out) {
  PROTECT(put(out, at::conv2d(T(x), T(w), opt(b), pair(stride), pair(padding), pair(dilation),
                              groups)))
}

int32_t tt_batch_norm(tt_tensor x, tt_tensor w, tt_tensor b, tt_tensor running_mean,
                      tt_tensor running_var, tt_tensor num_batches_tracked, int32_t training,
                      double momentum, double eps, tt_tensor* out) {
  PROTECT({
    auto y = at::batch_norm(T(x), opt(w), opt(b), opt(running_mean), opt(running_var),
                            training != 0, momentum, eps, /*cudnn_enabled=*/true);
    if (training && num_batches_tracked != nullptr) {
      c10::NoGradGuard no_grad;
      T(num_batches_tracked).add_(1);
    }
    put(out, y);
  })
}

int32_t tt_max_pool2d(tt_tensor x, const int64_t* kernel, const int64_t* stride,
                      const int64_t* padding, int32_t ceil_mode, tt_tensor* out) {
  PROTECT(put(out, at::max_pool2d(T(x), pair(kernel), pair(stride), pair(padding), {1, 1},
                                  ceil_mode != 0)))
}

int32_t tt_avg_pool2d(tt_tensor x, const int64_t* kernel, const int64_t* stride,
                      const int64_t* padding, tt_tensor* out) {
  PROTECT(put(out, at::avg_pool2d(T(x), pair(kernel), pair(stride), pair(padding))))
}

int32_t tt_adaptive_avg_pool2d(tt_tensor x, int64_t oh, int64_t ow, tt_tensor* out) {
  PROTECT(put(out, at::adaptive_avg_pool2d(T(x), {oh, ow})))
}

int32_t tt_cross_entropy(tt_tensor logits, tt_tensor target, int32_t reduction,
                         double label_smoothing, tt_tensor* out) {
  PROTECT(put(out, at::cross_entropy_loss(T(logits), T(target), c10::nullopt,
                                          reduction_of(reduction), -100, label_smoothing)))
}

int32_t tt_affine_grid(tt_tensor theta, const int64_t* size, int64_t ndim, int32_t align_corners,
                       tt_tensor* out) {
  PROTECT(put(out, at::affine_grid_generator(T(theta), dims(size, ndim), align_corners != 0)))
}

int32_t tt_grid_sample(tt_tensor x, tt_tensor grid, int32_t mode, int32_t padding_mode,
                       int32_t align_corners, tt_tensor* out) {
  PROTECT(put(out, at::grid_sampler(T(x), T(grid), sample_mode_of(mode),
                                     sample_padding_of(padding_mode), align_corners != 0)))
}

int32_t tt_interpolate(tt_tensor x, int64_t oh, int64_t ow, int32_t mode, int32_t align_corners,
                       int32_t antialias, tt_tensor* out) {
  PROTECT({
    auto& in = T(x);
    if (in.dim() != 4) throw std::invalid_argument("interpolate expects a 4-D (N, C, H, W) input");
    std::vector<int64_t> size{oh, ow};
    switch (mode) {
      case TT_INTERP_NEAREST: put(out, at::upsample_nearest2d(in, size)); break;
      case TT_INTERP_BILINEAR:
        put(out, antialias ? at::_upsample_bilinear2d_aa(in, size, align_corners != 0)
                           : at::upsample_bilinear2d(in, size, align_corners != 0));
        break;
      case TT_INTERP_BICUBIC:
        put(out, antialias ? at::_upsample_bicubic2d_aa(in, size, align_corners != 0)
                           : at::upsample_bicubic2d(in, size, align_corners != 0));
        break;
      case TT_INTERP_AREA: put(out, at::adaptive_avg_pool2d(in, size)); break;
      default: throw std::invalid_argument("unknown interpolate mode " + std::to_string(mode));
    }
  })
}

int32_t tt_pad(tt_tensor x, const int64_t* pads, int64_t npads, int32_t mode, double value,
               tt_tensor* out) {
  PROTECT({
    const char* name = pad_mode_of(mode);
    c10::optional<double> v;
    if (mode == TT_PAD_CONSTANT) v = value;
    put(out, at::pad(T(x), dims(pads, npads), name, v));
  })
}

int32_t tt_set_requires_grad(tt_tensor a, int32_t flag) {
  PROTECT(T(a).set_requires_grad(flag != 0))
}

int32_t tt_backward(tt_tensor a, tt_tensor grad, int32_t retain_graph) {
  PROTECT({
    at::Tensor g = grad ? T(grad) : at::Tensor();
    c10::optional<bool> keep;
    if (retain_graph) keep = true;
    T(a).backward(g, keep);
  })
}

int32_t tt_grad(tt_tensor a, tt_tensor* out) {
  PROTECT({
    const auto& g = T(a).grad();
    *out = g.defined() ? wrap(g) : nullptr;
  })
}

int32_t tt_set_grad(tt_tensor a, tt_tensor g) {
  PROTECT(T(a).mutable_grad() = g ? T(g) : at::Tensor())
}

// InferenceMode guards live on a thread-local stack: enter pushes one, exit
// pops it, so scopes nest as the RAII guards do in C++.
static thread_local std::vector<std::unique_ptr<c10::InferenceMode>> inference_guards;

int32_t tt_inference_mode(int32_t enter) {
  PROTECT({
    if (enter) {
      inference_guards.push_back(std::make_unique<c10::InferenceMode>(true));
    } else {
      if (inference_guards.empty()) throw std::logic_error("inference mode exit without enter");
      inference_guards.pop_back();
    }
  })
}

int32_t tt_grad_mode(int32_t enabled, int32_t* prev) {
  PROTECT({
    if (prev) *prev = c10::GradMode::is_enabled();
    if (enabled >= 0) c10::GradMode::set_enabled(enabled != 0);
  })
}

}  // extern "C"
