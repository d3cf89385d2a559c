// Fused list ops and optimizer steps: one FFI call updates every parameter,
// so a training step costs a handful of crossings whatever the model size.
#include "common.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cmath>
#include <stdexcept>

using namespace tt;

extern "C" {

// dst += w (src - dst) in one pass over dense float32 CPU memory. The
// loop is written for the compiler to vectorise; ATen's lerp_ kernel in
// libtorch 1.13 branches per element and runs at about half the bandwidth.
__attribute__((optimize("O3"))) static void lerp_f32(float* d, const float* s, int64_t len,
                                                     float w) {
  at::parallel_for(0, len, 1 << 16, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) d[i] += w * (s[i] - d[i]);
  });
}

// d = d + w (s - d): the vectorised loop for dense float32 CPU pairs of one
// layout, ATen's lerp_ otherwise.
static void lerp_one(at::Tensor& d, const at::Tensor& s, double weight) {
  // Any dense layout works (channels-last weights too) when both sides
  // share it: the elements then pair up one to one in memory order.
  const bool fast = d.device().is_cpu() && s.device().is_cpu() &&
                    d.scalar_type() == at::kFloat && s.scalar_type() == at::kFloat &&
                    d.sizes() == s.sizes() && d.strides() == s.strides() &&
                    d.is_non_overlapping_and_dense();
  if (fast) lerp_f32(d.data_ptr<float>(), s.data_ptr<float>(), d.numel(), static_cast<float>(weight));
  else d.lerp_(s, weight);
}

int32_t tt_lerp_list(const tt_tensor* dst, const tt_tensor* src, int64_t n, double weight) {
  PROTECT({
    c10::NoGradGuard no_grad;
    for (int64_t i = 0; i < n; i++) lerp_one(T(dst[i]), T(src[i]), weight);
  })
}

// dst.lerp_(src, weight) with the weight a tensor (0-dim, on the device): the
// EMA update of a captured step, whose rate the host writes between replays.
int32_t tt_lerp_list_tensor(const tt_tensor* dst, const tt_tensor* src, int64_t n,
                            tt_tensor weight) {
  PROTECT({
    c10::NoGradGuard no_grad;
    const auto& w = T(weight);
    if (w.device().is_cpu()) {
      // A CPU weight is read without a device sync: the same update as
      // tt_lerp_list's with that value, bit for bit.
      const double wd = w.item<double>();
      for (int64_t i = 0; i < n; i++) lerp_one(T(dst[i]), T(src[i]), wd);
      return 0;
    }
    at::Tensor cast;  // the weight in another dtype, made once per call when needed
    for (int64_t i = 0; i < n; i++) {
      auto& d = T(dst[i]);
      if (d.scalar_type() == w.scalar_type()) {
        d.lerp_(T(src[i]), w);
      } else {
        if (!cast.defined() || cast.scalar_type() != d.scalar_type()) cast = w.to(d.scalar_type());
        d.lerp_(T(src[i]), cast);
      }
    }
  })
}

// ts[i].fill_(values[i]): every per-step scalar a captured step reads (the lr
// of each group, the EMA rate) written in one crossing, with no device sync.
int32_t tt_fill_scalars(const tt_tensor* ts, const double* values, int64_t n) {
  PROTECT({
    if (n > 0 && values == nullptr) throw std::invalid_argument("null values pointer");
    c10::NoGradGuard no_grad;
    for (int64_t i = 0; i < n; i++) T(ts[i]).fill_(values[i]);
  })
}

// out[i] = ts[i].item(): reads one-element tensors back (a device sync each;
// for state dicts and logs, never inside a step).
int32_t tt_read_scalars(const tt_tensor* ts, double* out, int64_t n) {
  PROTECT({
    if (n > 0 && out == nullptr) throw std::invalid_argument("null out-pointer");
    for (int64_t i = 0; i < n; i++) out[i] = T(ts[i]).item<double>();
  })
}

int32_t tt_copy_list(const tt_tensor* dst, const tt_tensor* src, int64_t n) {
  PROTECT({
    c10::NoGradGuard no_grad;
    for (int64_t i = 0; i < n; i++) T(dst[i]).copy_(T(src[i]));
  })
}

int32_t tt_zero_grad_list(const tt_tensor* ts, int64_t n, int32_t set_to_none) {
  PROTECT({
    for (int64_t i = 0; i < n; i++) {
      auto& g = T(ts[i]).mutable_grad();
      if (!g.defined()) continue;
      if (set_to_none) g = at::Tensor();
      else {
        g = g.detach();
        g.zero_();
      }
    }
  })
}

// SGD's direction of one parameter (torch.optim.SGD): decay, then the
// momentum buffer (a copy on its first step, flagged in `inited`), Nesterov's
// look-ahead when asked. What is left is p -= lr * d, applied by each step.
static at::Tensor sgd_direction(const at::Tensor& p, const at::Tensor& g, const tt_tensor* bufs,
                                int64_t i, uint8_t& inited, double momentum, double dampening,
                                double weight_decay, bool nesterov) {
  at::Tensor d = weight_decay != 0.0 ? g.add(p, weight_decay) : g;
  if (momentum == 0.0) return d;  // no buffer then: bufs is not read
  auto& buf = T(bufs[i]);
  if (!inited) {
    buf.copy_(d);
    inited = 1;
  } else {
    buf.mul_(momentum).add_(d, 1.0 - dampening);
  }
  return nesterov ? d.add(buf, momentum) : buf;
}

int32_t tt_sgd_step(const tt_tensor* params, const tt_tensor* bufs, uint8_t* inited, int64_t n,
                    double lr, double momentum, double dampening, double weight_decay,
                    int32_t nesterov) {
  PROTECT({
    c10::NoGradGuard no_grad;
    for (int64_t i = 0; i < n; i++) {
      auto& p = T(params[i]);
      const auto& g = p.grad();
      if (!g.defined()) continue;  // as torch.optim: parameters without grad are skipped
      auto d = sgd_direction(p, g, bufs, i, inited[i], momentum, dampening, weight_decay,
                             nesterov != 0);
      p.add_(d, -lr);
    }
  })
}

int32_t tt_adamw_step(const tt_tensor* params, const tt_tensor* exp_avg,
                      const tt_tensor* exp_avg_sq, int64_t* steps, int64_t n, double lr,
                      double beta1, double beta2, double eps, double weight_decay) {
  PROTECT({
    c10::NoGradGuard no_grad;
    for (int64_t i = 0; i < n; i++) {
      auto& p = T(params[i]);
      const auto& g = p.grad();
      if (!g.defined()) continue;
      auto& m = T(exp_avg[i]);
      auto& v = T(exp_avg_sq[i]);
      int64_t step = ++steps[i];
      // torch.optim.AdamW (decoupled weight decay) of the same libtorch, same
      // operation order: 2.x moves the first moment with lerp_, 1.13 with mul_ + add_.
      p.mul_(1.0 - lr * weight_decay);
#if TORCH_VERSION_MAJOR >= 2
      m.lerp_(g, 1.0 - beta1);
#else
      m.mul_(beta1).add_(g, 1.0 - beta1);
#endif
      v.mul_(beta2).addcmul_(g, g, 1.0 - beta2);
      double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
      double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
      // In place after the sqrt: one full-size temporary instead of two, same values.
      auto denom = v.sqrt().div_(std::sqrt(bc2)).add_(eps);
      p.addcdiv_(m, denom, -lr / bc1);
    }
  })
}

// BYOL's LARS direction of one parameter: decay, then scale by eta * ||p|| /
// ||u|| (1 where either norm is 0), computed on the device with no host sync
// (unless excluded), through the momentum buffer (Nesterov's look-ahead when
// asked). What is left is p -= lr * d, which the two steps apply differently.
static at::Tensor lars_direction(const at::Tensor& p, const at::Tensor& g, at::Tensor& buf,
                                 bool excluded, double momentum, double weight_decay,
                                 double trust_coefficient, bool nesterov) {
  at::Tensor u = g;
  if (!excluded) {
    const bool decayed = weight_decay != 0.0;
    if (decayed) u = u.add(p, weight_decay);
    auto pn = p.norm();
    auto un = u.norm();
    auto one = at::ones_like(pn);
    auto ratio =
        at::where(pn.gt(0), at::where(un.gt(0), pn.mul(trust_coefficient).div(un), one), one);
    // u is our own temporary when decayed: scale it in place (one full-size
    // allocation per parameter, not two); never write into the grad.
    u = decayed ? u.mul_(ratio) : u.mul(ratio);
  }
  buf.mul_(momentum).add_(u);
  return nesterov ? u.add(buf, momentum) : buf;
}

int32_t tt_lars_step(const tt_tensor* params, const tt_tensor* bufs, const uint8_t* exclude,
                     int64_t n, double lr, double momentum, double weight_decay,
                     double trust_coefficient, int32_t nesterov) {
  PROTECT({
    c10::NoGradGuard no_grad;
    for (int64_t i = 0; i < n; i++) {
      auto& p = T(params[i]);
      const auto& g = p.grad();
      if (!g.defined()) continue;
      auto d = lars_direction(p, g, T(bufs[i]), exclude[i] != 0, momentum, weight_decay,
                              trust_coefficient, nesterov != 0);
      p.add_(d, -lr);
    }
  })
}

// ---- capturable steps (torch.optim's capturable=True): the lr is a 0-dim
// float64 tensor on the parameters' device and nothing here reads a device
// value on the host, so a step can be recorded in a CUDA graph and replayed.
// Host-side branches depend only on the arguments and on which parameters have
// a gradient, both fixed across the replays of one graph.

int32_t tt_sgd_step_capturable(const tt_tensor* params, const tt_tensor* bufs, uint8_t* inited,
                               int64_t n, tt_tensor lr, double momentum, double dampening,
                               double weight_decay, int32_t nesterov) {
  PROTECT({
    c10::NoGradGuard no_grad;
    const auto& lr_t = T(lr);
    for (int64_t i = 0; i < n; i++) {
      auto& p = T(params[i]);
      const auto& g = p.grad();
      if (!g.defined()) continue;
      // The first-step copy is a host flag: a captured step always follows at
      // least one eager warm-up step, so the graph records the running branch.
      auto d = sgd_direction(p, g, bufs, i, inited[i], momentum, dampening, weight_decay,
                             nesterov != 0);
      p.addcmul_(d, lr_t, -1.0);  // p -= lr * d, lr read on the device
    }
  })
}

int32_t tt_adamw_step_capturable(const tt_tensor* params, const tt_tensor* exp_avg,
                                 const tt_tensor* exp_avg_sq, const tt_tensor* steps, int64_t n,
                                 tt_tensor lr, double beta1, double beta2, double eps,
                                 double weight_decay) {
  PROTECT({
    c10::NoGradGuard no_grad;
    // torch.optim.adam's _single_tensor_adam, capturable branch (2.x), op for
    // op: the step counts (float32, as torch's state_steps) and both bias
    // corrections stay on the device. One departure: the scalar arithmetic runs
    // in float64 (0-dim tensors, a cast each), as the plain step's host math
    // does. torch's float32 1 - 0.999 ** step loses about 1e-5 of its value to
    // cancellation (0.999 itself rounds to float32), so its capturable AdamW
    // drifts from its plain one by that much in the first steps; in float64
    // the two stay within float32 rounding of each other.
    const auto lr_d = T(lr).to(at::kDouble);
    // Shared by every parameter of the group: 1 - lr * wd.
    at::Tensor decay;
    if (weight_decay != 0.0) decay = at::rsub(lr_d.mul(weight_decay), 1.0);
    for (int64_t i = 0; i < n; i++) {
      auto& p = T(params[i]);
      const auto& g = p.grad();
      if (!g.defined()) continue;
      auto& m = T(exp_avg[i]);
      auto& v = T(exp_avg_sq[i]);
      auto& step_t = T(steps[i]);
      step_t.add_(1);
      if (weight_decay != 0.0) p.mul_(decay);
#if TORCH_VERSION_MAJOR >= 2
      m.lerp_(g, 1.0 - beta1);
#else
      m.mul_(beta1).add_(g, 1.0 - beta1);
#endif
      v.mul_(beta2).addcmul_(g, g, 1.0 - beta2);
      const auto step = step_t.to(at::kDouble);
      auto bc1 = at::rsub(at::pow(beta1, step), 1.0);
      auto bc2 = at::rsub(at::pow(beta2, step), 1.0);
      auto step_size_neg = lr_d.div(bc1).neg_();
      // torch folds the step size into the denominator (sqrt(v) / (bc2_sqrt *
      // step_size) + eps / step_size), which divides by zero at lr 0, the
      // first step of a warm-up: sqrt(v) = 0 there gives NaN. As the plain
      // step instead, in its kernel's order (ATen's CPU addcdiv computes
      // p + value * m / denom left to right): (value * m) / denom, the step
      // size rounded to the parameter's dtype once as addcdiv_'s value is.
      auto denom = v.sqrt().div_(bc2.sqrt()).add_(eps);
      p.addcdiv_(m.mul(step_size_neg.to(p.scalar_type())), denom);
    }
  })
}

int32_t tt_lars_step_capturable(const tt_tensor* params, const tt_tensor* bufs,
                                const uint8_t* exclude, int64_t n, tt_tensor lr, double momentum,
                                double weight_decay, double trust_coefficient, int32_t nesterov) {
  PROTECT({
    c10::NoGradGuard no_grad;
    const auto& lr_t = T(lr);
    for (int64_t i = 0; i < n; i++) {
      auto& p = T(params[i]);
      const auto& g = p.grad();
      if (!g.defined()) continue;
      auto d = lars_direction(p, g, T(bufs[i]), exclude[i] != 0, momentum, weight_decay,
                              trust_coefficient, nesterov != 0);
      p.addcmul_(d, lr_t, -1.0);  // p -= lr * d, lr read on the device
    }
  })
}

}  // extern "C"
