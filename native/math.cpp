// Elementwise math, reductions and in-place updates.
#include "common.h"

#include <stdexcept>

using namespace tt;

static at::Tensor unary(int32_t op, const at::Tensor& x) {
  switch (op) {
    case TT_NEG: return x.neg();
    case TT_EXP: return x.exp();
    case TT_LOG: return x.log();
    case TT_SQRT: return x.sqrt();
    case TT_RSQRT: return x.rsqrt();
    case TT_ABS: return x.abs();
    case TT_RELU: return x.relu();
    case TT_SIGMOID: return x.sigmoid();
    case TT_TANH: return x.tanh();
    case TT_SIN: return x.sin();
    case TT_COS: return x.cos();
    case TT_FLOOR: return x.floor();
    case TT_CEIL: return x.ceil();
    case TT_ROUND: return x.round();
    case TT_SIGN: return x.sign();
    case TT_SQUARE: return x.square();
    case TT_RECIPROCAL: return x.reciprocal();
    case TT_LOGICAL_NOT: return x.logical_not();
    case TT_ISFINITE: return x.isfinite();
    case TT_TRUNC: return x.trunc();
    case TT_LOG1P: return x.log1p();
    case TT_EXPM1: return x.expm1();
    default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
  }
}

static at::Tensor binary(int32_t op, const at::Tensor& a, const at::Tensor& b, double alpha) {
  switch (op) {
    case TT_ADD: return alpha == 1.0 ? a.add(b) : a.add(b, alpha);
    case TT_SUB: return alpha == 1.0 ? a.sub(b) : a.sub(b, alpha);
    case TT_MUL: return a.mul(b);
    case TT_DIV: return a.div(b);
    case TT_POW: return a.pow(b);
    case TT_MAXIMUM: return at::maximum(a, b);
    case TT_MINIMUM: return at::minimum(a, b);
    case TT_EQ: return a.eq(b);
    case TT_NE: return a.ne(b);
    case TT_GT: return a.gt(b);
    case TT_GE: return a.ge(b);
    case TT_LT: return a.lt(b);
    case TT_LE: return a.le(b);
    case TT_REMAINDER: return a.remainder(b);
    case TT_ATAN2: return a.atan2(b);
    case TT_LOGICAL_AND: return a.logical_and(b);
    case TT_LOGICAL_OR: return a.logical_or(b);
    case TT_RSUB: return b.sub(a, alpha);
    case TT_FLOOR_DIVIDE: return a.div(b, "floor");
    default: throw std::invalid_argument("unknown binary op " + std::to_string(op));
  }
}

// Integer tensors keep integer results for integral scalars, as in PyTorch.
static at::Scalar scalar_for(const at::Tensor& a, double s) {
  if (std::floor(s) == s && !at::isFloatingType(a.scalar_type()) && std::abs(s) < 9.0e15)
    return at::Scalar(static_cast<int64_t>(s));
  return at::Scalar(s);
}

static at::Tensor binary_scalar(int32_t op, const at::Tensor& a, double s) {
  at::Scalar sc = scalar_for(a, s);
  switch (op) {
    case TT_ADD: return a.add(sc);
    case TT_SUB: return a.sub(sc);
    case TT_MUL: return a.mul(sc);
    case TT_DIV: return a.div(sc);
    case TT_POW: return a.pow(sc);
    case TT_MAXIMUM: return a.clamp_min(sc);
    case TT_MINIMUM: return a.clamp_max(sc);
    case TT_EQ: return a.eq(sc);
    case TT_NE: return a.ne(sc);
    case TT_GT: return a.gt(sc);
    case TT_GE: return a.ge(sc);
    case TT_LT: return a.lt(sc);
    case TT_LE: return a.le(sc);
    case TT_REMAINDER: return a.remainder(sc);
    case TT_RSUB: return at::rsub(a, sc);
    case TT_FLOOR_DIVIDE: return a.div(sc, "floor");
    default: throw std::invalid_argument("unknown scalar op " + std::to_string(op));
  }
}

extern "C" {

int32_t tt_unary(int32_t op, tt_tensor a, tt_tensor* out) {
  PROTECT({
    put(out, unary(op, T(a)));
  })
}

int32_t tt_binary(int32_t op, tt_tensor a, tt_tensor b, double alpha, tt_tensor* out) {
  PROTECT(put(out, binary(op, T(a), T(b), alpha)))
}

int32_t tt_binary_scalar(int32_t op, tt_tensor a, double s, tt_tensor* out) {
  PROTECT(put(out, binary_scalar(op, T(a), s)))
}

int32_t tt_inplace(int32_t op, tt_tensor a, tt_tensor b, double s) {
  PROTECT({
    auto& x = T(a);
    if (b != nullptr) {
      auto& y = T(b);
      switch (op) {
        // alpha 1 passes no alpha: integer tensors refuse a floating alpha.
        case TT_ADD_: if (s == 1.0) x.add_(y); else x.add_(y, s); break;
        case TT_SUB_: if (s == 1.0) x.sub_(y); else x.sub_(y, s); break;
        case TT_MUL_: x.mul_(y); break;
        case TT_DIV_: x.div_(y); break;
        case TT_COPY_: x.copy_(y); break;
        case TT_LERP_: x.lerp_(y, s); break;
        default: throw std::invalid_argument("in-place op " + std::to_string(op) +
                                             " takes no tensor argument");
      }
    } else {
      at::Scalar sc = scalar_for(x, s);
      switch (op) {
        case TT_ADD_: x.add_(sc); break;
        case TT_SUB_: x.sub_(sc); break;
        case TT_MUL_: x.mul_(sc); break;
        case TT_DIV_: x.div_(sc); break;
        case TT_FILL_: x.fill_(sc); break;
        case TT_ZERO_: x.zero_(); break;
        case TT_CLAMP_MIN_: x.clamp_min_(s); break;
        case TT_CLAMP_MAX_: x.clamp_max_(s); break;
        case TT_RELU_: x.relu_(); break;
        default: throw std::invalid_argument("in-place op " + std::to_string(op) +
                                             " needs a tensor argument");
      }
    }
  })
}

int32_t tt_clamp(tt_tensor a, double lo, double hi, int32_t has_lo, int32_t has_hi,
                 tt_tensor* out) {
  PROTECT({
    c10::optional<at::Scalar> l, h;
    if (has_lo) l = lo;
    if (has_hi) h = hi;
    put(out, T(a).clamp(l, h));
  })
}

int32_t tt_matmul(tt_tensor a, tt_tensor b, tt_tensor* out) {
  PROTECT(put(out, T(a).matmul(T(b))))
}

int32_t tt_reduce(int32_t op, tt_tensor a, const int64_t* d, int64_t ndims, int32_t keepdim,
                  double correction, tt_tensor* out) {
  PROTECT({
    auto& x = T(a);
    auto ds = dims(d, ndims);
    bool all = ndims == 0;
    bool kd = keepdim != 0;
    bool unbiased = correction != 0.0;
    at::Tensor r;
    switch (op) {
      case TT_SUM: r = all ? x.sum() : x.sum(ds, kd); break;
      case TT_MEAN: r = all ? x.mean() : x.mean(ds, kd); break;
      case TT_AMAX: r = all ? x.max() : x.amax(ds, kd); break;
      case TT_AMIN: r = all ? x.min() : x.amin(ds, kd); break;
      case TT_PROD:
        if (all) r = x.prod();
        else if (ndims == 1) r = x.prod(ds[0], kd);
        else throw std::invalid_argument("prod reduces over one dim or all");
        break;
      case TT_STD: r = all ? x.std(unbiased) : x.std(ds, unbiased, kd); break;
      case TT_VAR: r = all ? x.var(unbiased) : x.var(ds, unbiased, kd); break;
      case TT_LOGSUMEXP:
        r = all ? x.flatten().logsumexp(0) : x.logsumexp(ds, kd);
        break;
      case TT_ALL:
        if (all) r = x.all();
        else if (ndims == 1) r = x.all(ds[0], kd);
        else throw std::invalid_argument("all reduces over one dim or all");
        break;
      case TT_ANY:
        if (all) r = x.any();
        else if (ndims == 1) r = x.any(ds[0], kd);
        else throw std::invalid_argument("any reduces over one dim or all");
        break;
      default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
    }
    put(out, r);
  })
}

int32_t tt_argmax(tt_tensor a, int64_t dim, int32_t has_dim, int32_t keepdim, int32_t is_min,
                  tt_tensor* out) {
  PROTECT({
    c10::optional<int64_t> d;
    if (has_dim) d = dim;
    put(out, is_min ? T(a).argmin(d, keepdim != 0) : T(a).argmax(d, keepdim != 0));
  })
}

int32_t tt_topk(tt_tensor a, int64_t k, int64_t dim, int32_t largest, int32_t sorted,
                tt_tensor* values, tt_tensor* indices) {
  PROTECT({
    auto r = T(a).topk(k, dim, largest != 0, sorted != 0);
    put(values, std::get<0>(r));
    put(indices, std::get<1>(r));
  })
}

int32_t tt_norm(tt_tensor a, double p, const int64_t* d, int64_t ndims, int32_t keepdim,
                tt_tensor* out) {
  PROTECT({
    if (ndims == 0) put(out, T(a).norm(p));
    else put(out, T(a).norm(p, dims(d, ndims), keepdim != 0));
  })
}

int32_t tt_normalize(tt_tensor a, double p, int64_t dim, double eps, tt_tensor* out) {
  PROTECT({
    // F.normalize: x / max(||x||_p, eps)
    auto& x = T(a);
    auto denom = x.norm(p, dim, true).clamp_min(eps).expand_as(x);
    put(out, x / denom);
  })
}

int32_t tt_softmax(tt_tensor a, int64_t dim, int32_t log, tt_tensor* out) {
  PROTECT(put(out, log ? T(a).log_softmax(dim) : T(a).softmax(dim)))
}

int32_t tt_where(tt_tensor cond, tt_tensor a, tt_tensor b, tt_tensor* out) {
  PROTECT(put(out, at::where(T(cond), T(a), T(b))))
}

int32_t tt_masked_fill(tt_tensor a, tt_tensor mask, double value, tt_tensor* out) {
  PROTECT(put(out, T(a).masked_fill(T(mask), value)))
}

int32_t tt_lerp(tt_tensor a, tt_tensor b, tt_tensor weight, tt_tensor* out) {
  PROTECT(put(out, T(a).lerp(T(b), T(weight))))
}

int32_t tt_one_hot(tt_tensor a, int64_t num_classes, tt_tensor* out) {
  PROTECT(put(out, at::one_hot(T(a), num_classes)))
}

int32_t tt_cumsum(tt_tensor a, int64_t dim, tt_tensor* out) {
  PROTECT(put(out, T(a).cumsum(dim)))
}

int32_t tt_sort(tt_tensor a, int64_t dim, int32_t descending, tt_tensor* values,
                tt_tensor* indices) {
  PROTECT({
    auto r = T(a).sort(dim, descending != 0);
    put(values, std::get<0>(r));
    put(indices, std::get<1>(r));
  })
}

}  // extern "C"
