// Fused CPU kernels of the augmentation. Resized crop + flip straight from
// the uint8 batch, each image with its own box. And the colour part: each image's
// jitter ops in its own order, then optional grayscale, in one pass over the
// image while it sits in cache. Composed from tensor ops (src/augment/color.ts,
// the CUDA path) the same work takes about forty full-batch passes. The
// arithmetic follows torchvision's functional_tensor op for op in float32, so
// results equal TF.adjust_* up to the rounding of the contrast mean.
#include "common.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

using namespace tt;

namespace {

// The per-pixel loops are compiled at O3 (the shim's default is O2) so that
// they vectorise; no fast-math: results must stay torchvision's to the bit.
#define HOT __attribute__((optimize("O3")))

inline float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }

inline float gray_of(float r, float g, float b) {
  // TF.rgb_to_grayscale: (0.2989 r + 0.587 g) + 0.114 b, in float32.
  float a = 0.2989f * r;
  float c = 0.587f * g;
  float d = 0.114f * b;
  return (a + c) + d;
}

// torchvision's _blend: (f x + (1 - f) ref).clamp(0, 1).
inline float blend(float x, float ref, float f) {
  float a = f * x;
  float b = (1.f - f) * ref;
  return clamp01(a + b);
}

struct Image {
  float* p;
  int64_t c, hw;
  float* ch(int64_t k) const { return p + k * hw; }
};

HOT void brightness(const Image& im, float f) {
  for (int64_t i = 0; i < im.c * im.hw; i++) im.p[i] = clamp01(f * im.p[i]);
}

float gray_mean(const Image& im) {
  double s = 0;
  if (im.c == 1) {
    for (int64_t i = 0; i < im.hw; i++) s += im.p[i];
  } else {
    const float *r = im.ch(0), *g = im.ch(1), *b = im.ch(2);
    for (int64_t i = 0; i < im.hw; i++) s += gray_of(r[i], g[i], b[i]);
  }
  return static_cast<float>(s / static_cast<double>(im.hw));
}

HOT void contrast(const Image& im, float f) {
  float m = gray_mean(im);
  for (int64_t i = 0; i < im.c * im.hw; i++) im.p[i] = blend(im.p[i], m, f);
}

HOT void saturation(const Image& im, float f) {
  if (im.c != 3) return;  // identity on 1-channel images, as TF
  float *r = im.ch(0), *g = im.ch(1), *b = im.ch(2);
  for (int64_t i = 0; i < im.hw; i++) {
    float gr = gray_of(r[i], g[i], b[i]);
    r[i] = blend(r[i], gr, f);
    g[i] = blend(g[i], gr, f);
    b[i] = blend(b[i], gr, f);
  }
}

// TF.adjust_hue: _rgb2hsv, h = (h + f) % 1, _hsv2rgb, element by element,
// four pixels at a time with GCC's vector extensions (SSE2 on x86-64; the
// compiler does not vectorise the scalar form, whose branches it cannot
// if-convert). Each lane does the same IEEE float32 operations in the same
// order as torchvision; every fmod/remainder/floor has its argument in a known
// small range, where a compare and an exact +-1 give the library call's float.
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

inline v4f sel(v4i m, v4f a, v4f b) { return m ? a : b; }
inline v4f vmax(v4f a, v4f b) { return a > b ? a : b; }
inline v4f vmin(v4f a, v4f b) { return a < b ? a : b; }
inline v4f vclamp01(v4f v) {
  const v4f z = {0.f, 0.f, 0.f, 0.f}, o = {1.f, 1.f, 1.f, 1.f};
  return v < z ? z : (v > o ? o : v);
}

inline void hue4(v4f& r, v4f& g, v4f& b, float f) {
  const v4f one = {1.f, 1.f, 1.f, 1.f}, zero = {0.f, 0.f, 0.f, 0.f};
  const v4f maxc = vmax(r, vmax(g, b));
  const v4f minc = vmin(r, vmin(g, b));
  const v4i eqc = maxc == minc;
  const v4f cr = maxc - minc;
  const v4f s = cr / sel(eqc, one, maxc);
  const v4f div = sel(eqc, one, cr);
  const v4f rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
  const v4f hr = bc - gc, hg = (2.f + rc) - bc, hb = (4.f + gc) - rc;
  v4f h = sel(maxc == r, hr, sel(maxc == g, hg, hb));
  // fmod(h / 6 + 1, 1) with h / 6 + 1 in [5/6, 11/6].
  h = h / 6.f + 1.f;
  h = sel(h >= one, h - 1.f, h);
  // torch.remainder(h + f, 1) with h + f in [-0.5, 1.5).
  h = h + f;
  h = sel(h >= one, h - 1.f, sel(h < zero, h + 1.f, h));
  const v4f v = maxc;
  const v4f h6 = h * 6.f;
  // floor(h6) with h6 in [0, 6], then the sector modulo 6.
  const v4f fl = __builtin_convertvector(__builtin_convertvector(h6, v4i), v4f);
  const v4f fr = h6 - fl;
  const v4f sec = sel(fl == 6.f, zero, fl);
  const v4f p = vclamp01(v * (1.f - s));
  const v4f q = vclamp01(v * (1.f - s * fr));
  const v4f t = vclamp01(v * (1.f - s * (1.f - fr)));
  // Sectors 0-5 give (v,t,p) (q,v,p) (p,v,t) (p,q,v) (t,p,v) (v,p,q).
  r = sel((sec == 0.f) | (sec == 5.f), v, sel(sec == 1.f, q, sel(sec == 4.f, t, p)));
  g = sel((sec == 1.f) | (sec == 2.f), v, sel(sec == 0.f, t, sel(sec == 3.f, q, p)));
  b = sel((sec == 3.f) | (sec == 4.f), v, sel(sec == 2.f, t, sel(sec == 5.f, q, p)));
}

void hue(const Image& im, float f) {
  if (im.c != 3) return;
  float *rp = im.ch(0), *gp = im.ch(1), *bp = im.ch(2);
  for (int64_t i = 0; i < im.hw; i += 4) {
    // The last group may be partial: its missing lanes are zeros, computed and dropped.
    const size_t bytes = sizeof(float) * static_cast<size_t>(std::min<int64_t>(4, im.hw - i));
    v4f r = {0.f, 0.f, 0.f, 0.f}, g = r, b = r;
    std::memcpy(&r, rp + i, bytes);
    std::memcpy(&g, gp + i, bytes);
    std::memcpy(&b, bp + i, bytes);
    hue4(r, g, b, f);
    std::memcpy(rp + i, &r, bytes);
    std::memcpy(gp + i, &g, bytes);
    std::memcpy(bp + i, &b, bytes);
  }
}

HOT void grayscale(const Image& im) {
  if (im.c != 3) return;
  float *r = im.ch(0), *g = im.ch(1), *b = im.ch(2);
  for (int64_t i = 0; i < im.hw; i++) {
    float gr = gray_of(r[i], g[i], b[i]);
    r[i] = gr;
    g[i] = gr;
    b[i] = gr;
  }
}

// upsample_bilinear2d's source index and weights (align_corners=False), as
// libtorch's CPU kernel computes them in float.
struct Taps {
  int64_t i0, i1;
  float w0, w1;
};

Taps taps(int64_t dst, int64_t in_size, int64_t out_size) {
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  float src = scale * (static_cast<float>(dst) + 0.5f) - 0.5f;
  if (src < 0.f) src = 0.f;
  Taps t;
  t.i0 = static_cast<int64_t>(src);
  t.i1 = t.i0 + (t.i0 < in_size - 1 ? 1 : 0);
  t.w1 = std::min(std::max(src - static_cast<float>(t.i0), 0.f), 1.f);
  t.w0 = 1.f - t.w1;
  return t;
}

template <typename In>
void crop_image(const In* src, int64_t c, int64_t h, int64_t w, const float* box, bool flip,
                int64_t oh, int64_t ow, float* dst) {
  const int64_t top = static_cast<int64_t>(box[0]), left = static_cast<int64_t>(box[1]);
  const int64_t bh = static_cast<int64_t>(box[2]), bw = static_cast<int64_t>(box[3]);
  if (bh < 1 || bw < 1 || top < 0 || left < 0 || top + bh > h || left + bw > w)
    throw std::invalid_argument("crop box outside the image");
  std::vector<Taps> ty(oh), tx(ow);
  for (int64_t y = 0; y < oh; y++) ty[y] = taps(y, bh, oh);
  for (int64_t x = 0; x < ow; x++) tx[x] = taps(x, bw, ow);
  // uint8 pixels become x / 255 in float, as batch.float().div(255) does.
  auto val = [](In v) -> float {
    if constexpr (std::is_same_v<In, uint8_t>) return static_cast<float>(v) / 255.f;
    else return v;
  };
  for (int64_t k = 0; k < c; k++) {
    const In* plane = src + k * h * w;
    float* out = dst + k * oh * ow;
    for (int64_t y = 0; y < oh; y++) {
      const Taps& a = ty[y];
      const In* r0 = plane + (top + a.i0) * w + left;
      const In* r1 = plane + (top + a.i1) * w + left;
      float* row = out + y * ow;
      for (int64_t x = 0; x < ow; x++) {
        const Taps& b = tx[x];
        // libtorch's order: ((p00 w0 + p01 w1) h0) + ((p10 w0 + p11 w1) h1)
        float t0 = val(r0[b.i0]) * b.w0;
        t0 += val(r0[b.i1]) * b.w1;
        float t1 = val(r1[b.i0]) * b.w0;
        t1 += val(r1[b.i1]) * b.w1;
        float o = t0 * a.w0;
        o += t1 * a.w1;
        row[flip ? ow - 1 - x : x] = o;
      }
    }
  }
}

}  // namespace

extern "C" {

int32_t tt_resized_crop_cpu(tt_tensor x, tt_tensor boxes, tt_tensor flip, int64_t out_h,
                            int64_t out_w, tt_tensor* out) {
  PROTECT({
    auto in = T(x).contiguous();
    if (!in.device().is_cpu() || in.dim() != 4)
      throw std::invalid_argument("resized_crop_cpu expects a (N, C, H, W) CPU tensor");
    if (in.scalar_type() != at::kByte && in.scalar_type() != at::kFloat)
      throw std::invalid_argument("resized_crop_cpu takes uint8 or float32 images");
    const int64_t n = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
    auto b = T(boxes).to(at::kFloat).contiguous();
    if (b.numel() != n * 4) throw std::invalid_argument("resized_crop_cpu: boxes must be (N, 4)");
    at::Tensor f;
    if (flip != nullptr) {
      f = T(flip).to(at::kBool).contiguous();
      if (f.numel() != n) throw std::invalid_argument("resized_crop_cpu: flip must be (N,)");
    }
    auto y = at::empty({n, c, out_h, out_w}, at::TensorOptions().dtype(at::kFloat));
    const float* bp = b.data_ptr<float>();
    const bool* fp = f.defined() ? f.data_ptr<bool>() : nullptr;
    float* yp = y.data_ptr<float>();
    const bool u8 = in.scalar_type() == at::kByte;
    const uint8_t* ip8 = u8 ? in.data_ptr<uint8_t>() : nullptr;
    const float* ipf = u8 ? nullptr : in.data_ptr<float>();
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; k++) {
        const bool fl = fp != nullptr && fp[k];
        float* dst = yp + k * c * out_h * out_w;
        if (u8) crop_image(ip8 + k * c * h * w, c, h, w, bp + 4 * k, fl, out_h, out_w, dst);
        else crop_image(ipf + k * c * h * w, c, h, w, bp + 4 * k, fl, out_h, out_w, dst);
      }
    });
    put(out, y);
  })
}


int32_t tt_color_jitter_cpu(tt_tensor x, tt_tensor factors, tt_tensor order, tt_tensor gray,
                            tt_tensor* out) {
  PROTECT({
    auto& in = T(x);
    if (!in.device().is_cpu() || in.scalar_type() != at::kFloat || in.dim() != 4)
      throw std::invalid_argument("color_jitter_cpu expects a float32 (N, C, H, W) CPU tensor");
    const int64_t n = in.size(0), c = in.size(1), hw = in.size(2) * in.size(3);
    if (c != 1 && c != 3) throw std::invalid_argument("color_jitter_cpu: 1 or 3 channels");
    auto f = T(factors).to(at::kFloat).contiguous();
    auto o = T(order).to(at::kLong).contiguous();
    if (f.numel() != n * 4 || o.numel() != n * 4)
      throw std::invalid_argument("color_jitter_cpu: factors and order must be (N, 4)");
    at::Tensor g;
    if (gray != nullptr) {
      g = T(gray).to(at::kBool).contiguous();
      if (g.numel() != n) throw std::invalid_argument("color_jitter_cpu: gray mask must be (N,)");
    }
    auto y = in.contiguous().clone();
    float* base = y.data_ptr<float>();
    const float* fp = f.data_ptr<float>();
    const int64_t* op = o.data_ptr<int64_t>();
    const bool* gp = g.defined() ? g.data_ptr<bool>() : nullptr;
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; k++) {
        Image im{base + k * c * hw, c, hw};
        const float* fk = fp + 4 * k;
        for (int j = 0; j < 4; j++) {
          const int64_t code = op[4 * k + j];  // a tt_jitter_op: the factor's column
          switch (code) {
            // Identity factors skip the pass: TF's blend with factor 1 is exact.
            case TT_JITTER_BRIGHTNESS: if (fk[code] != 1.f) brightness(im, fk[code]); break;
            case TT_JITTER_CONTRAST: if (fk[code] != 1.f) contrast(im, fk[code]); break;
            case TT_JITTER_SATURATION: if (fk[code] != 1.f) saturation(im, fk[code]); break;
            case TT_JITTER_HUE: if (fk[code] != 0.f) hue(im, fk[code]); break;
            default: break;
          }
        }
        if (gp != nullptr && gp[k]) grayscale(im);
      }
    });
    put(out, y);
  })
}

int32_t tt_solarize_normalize_cpu(tt_tensor x, tt_tensor mask, double threshold,
                                  const double* mean, const double* std_, int64_t nchan,
                                  tt_tensor* out) {
  PROTECT({
    auto in = T(x).contiguous();
    if (!in.device().is_cpu() || in.scalar_type() != at::kFloat || in.dim() != 4)
      throw std::invalid_argument("solarize_normalize_cpu expects a float32 (N, C, H, W) CPU tensor");
    const int64_t n = in.size(0), c = in.size(1), hw = in.size(2) * in.size(3);
    if (nchan != c) throw std::invalid_argument("solarize_normalize_cpu: one mean and std per channel");
    at::Tensor m;
    if (mask != nullptr) {
      m = T(mask).to(at::kBool).contiguous();
      if (m.numel() != n) throw std::invalid_argument("solarize_normalize_cpu: mask must be (N,)");
    }
    auto y = at::empty_like(in);
    const float* ip = in.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    const bool* mp = m.defined() ? m.data_ptr<bool>() : nullptr;
    const float thr = static_cast<float>(threshold);
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; k++) {
        const bool sol = mp != nullptr && mp[k];
        for (int64_t ch = 0; ch < c; ch++) {
          // TF.solarize: where(x >= t, 1 - x, x); TF.normalize: (x - mean) / std, in float32.
          const float mu = static_cast<float>(mean[ch]);
          const float sd = static_cast<float>(std_[ch]);
          const float* src = ip + (k * c + ch) * hw;
          float* dst = yp + (k * c + ch) * hw;
          for (int64_t i = 0; i < hw; i++) {
            float v = src[i];
            if (sol && v >= thr) v = 1.f - v;
            dst[i] = (v - mu) / sd;
          }
        }
      }
    });
    put(out, y);
  })
}

}  // extern "C"
