/*
 * decode_image.c: libttimage.so, the native PNG/JPEG decoder of the image
 * folder loaders (API and guarantees: tt_image.h). libjpeg(-turbo) and libpng
 * decode; the plane conversion and Pillow's bilinear resize are ports of
 * src/data/decode.ts's rgbaToPlanes and src/data/resize.ts, bit for bit.
 * Built with -O3 -ffp-contract=off: the resize's coefficients are computed in
 * double exactly as the TypeScript (and Pillow's C) compute them, which a
 * fused multiply-add would change.
 */
#include "tt_image.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static void set_err(char* err, size_t len, const char* fmt, ...) {
  if (err == NULL || len == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
}

/* ---------------------------------------------------------------- resize */

#define PRECISION_BITS (32 - 8 - 2)
#define ONE (1 << PRECISION_BITS)
#define HALF (1 << (PRECISION_BITS - 1))

typedef struct {
  int ksize;
  int* start;
  int* count;
  int32_t* k;
} coeffs_t;

static double triangle(double x) {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

static void free_coeffs(coeffs_t* c) {
  free(c->start);
  free(c->count);
  free(c->k);
}

/* Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (resize.ts coeffs). */
static int make_coeffs(int in_size, int out_size, int antialias, coeffs_t* c) {
  double scale = (double)in_size / (double)out_size;
  double filterscale = antialias && scale > 1 ? scale : 1;
  double support = 1 * filterscale;
  int ksize = (int)ceil(support) * 2 + 1;
  double ss = 1 / filterscale;
  c->ksize = ksize;
  c->start = malloc(sizeof(int) * (size_t)out_size);
  c->count = malloc(sizeof(int) * (size_t)out_size);
  c->k = malloc(sizeof(int32_t) * (size_t)out_size * (size_t)ksize);
  double* w = malloc(sizeof(double) * (size_t)ksize);
  if (!c->start || !c->count || !c->k || !w) {
    free(w);
    free_coeffs(c);
    return 1;
  }
  for (int xx = 0; xx < out_size; xx++) {
    double center = (xx + 0.5) * scale;
    int xmin = (int)(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = (int)(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0;
    for (int x = 0; x < xmax; x++) {
      double v = triangle((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    int32_t* k = c->k + (size_t)xx * ksize;
    for (int x = 0; x < ksize; x++) k[x] = 0;
    for (int x = 0; x < xmax; x++) {
      double v = ww != 0 ? w[x] / ww : w[x];
      k[x] = (int32_t)(0.5 + v * ONE);
    }
    c->start[xx] = xmin;
    c->count[xx] = xmax;
  }
  free(w);
  return 0;
}

static inline uint8_t clip8(int32_t v) {
  if (v >= ONE * 256) return 255;
  if (v <= 0) return 0;
  return (uint8_t)(v >> PRECISION_BITS);
}

int tti_resize(const uint8_t* src, int planes, int in_h, int in_w, int out_h, int out_w,
               int antialias, uint8_t* out) {
  if (planes <= 0 || in_h <= 0 || in_w <= 0 || out_h <= 0 || out_w <= 0) return 1;
  if (in_h == out_h && in_w == out_w) {
    memcpy(out, src, (size_t)planes * in_h * in_w);
    return 0;
  }
  const uint8_t* cur = src;
  uint8_t* tmp = NULL;
  int cur_w = in_w;
  if (in_w != out_w) {
    coeffs_t c;
    if (make_coeffs(in_w, out_w, antialias, &c)) return 1;
    /* Straight into out when there is no vertical pass. */
    uint8_t* dst = in_h == out_h ? out : (tmp = malloc((size_t)planes * in_h * out_w));
    if (dst == NULL) {
      free_coeffs(&c);
      return 1;
    }
    size_t rows = (size_t)planes * in_h;
    for (size_t row = 0; row < rows; row++) {
      const uint8_t* s = src + row * in_w;
      uint8_t* d = dst + row * out_w;
      for (int x = 0; x < out_w; x++) {
        const uint8_t* sp = s + c.start[x];
        const int32_t* k = c.k + (size_t)x * c.ksize;
        int n = c.count[x];
        int32_t acc = HALF;
        for (int t = 0; t < n; t++) acc += sp[t] * k[t];
        d[x] = clip8(acc);
      }
    }
    free_coeffs(&c);
    if (in_h == out_h) return 0;
    cur = tmp;
    cur_w = out_w;
  }
  /* Vertical pass, a row of accumulators at a time (the same sums in another order: exact). */
  coeffs_t c;
  int32_t* acc = malloc(sizeof(int32_t) * (size_t)cur_w);
  if (acc == NULL || make_coeffs(in_h, out_h, antialias, &c)) {
    free(acc);
    free(tmp);
    return 1;
  }
  for (int p = 0; p < planes; p++) {
    const uint8_t* sp = cur + (size_t)p * in_h * cur_w;
    uint8_t* dp = out + (size_t)p * out_h * cur_w;
    for (int y = 0; y < out_h; y++) {
      const int32_t* k = c.k + (size_t)y * c.ksize;
      int s = c.start[y], n = c.count[y];
      for (int x = 0; x < cur_w; x++) acc[x] = HALF;
      for (int t = 0; t < n; t++) {
        const uint8_t* r = sp + (size_t)(s + t) * cur_w;
        int32_t kt = k[t];
        for (int x = 0; x < cur_w; x++) acc[x] += r[x] * kt;
      }
      uint8_t* d = dp + (size_t)y * cur_w;
      for (int x = 0; x < cur_w; x++) d[x] = clip8(acc[x]);
    }
  }
  free_coeffs(&c);
  free(acc);
  free(tmp);
  return 0;
}

/* ---------------------------------------------------------------- planes */

/*
 * Interleaved pixels with `sc` samples (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA)
 * -> `channels` planes, as rgbaToPlanes gives them from imagescript's RGBA
 * (gray replicated to R, G and B; alpha 255 when there is none).
 */
static void to_planes(const uint8_t* px, int sc, size_t pixels, int channels, uint8_t* out) {
  if (channels == 1) {
    if (sc <= 2) {
      /* Luma of (g, g, g) is g: the weights sum to 65536. */
      for (size_t i = 0; i < pixels; i++) out[i] = px[i * sc];
    } else {
      for (size_t i = 0; i < pixels; i++) {
        const uint8_t* p = px + i * sc;
        out[i] = (uint8_t)((19595 * p[0] + 38470 * p[1] + 7471 * p[2] + 0x8000) >> 16);
      }
    }
    return;
  }
  uint8_t* r = out;
  uint8_t* g = out + pixels;
  uint8_t* b = out + 2 * pixels;
  uint8_t* a = channels == 4 ? out + 3 * pixels : NULL;
  switch (sc) {
    case 1:
      for (size_t i = 0; i < pixels; i++) r[i] = g[i] = b[i] = px[i];
      if (a) memset(a, 255, pixels);
      break;
    case 2:
      for (size_t i = 0; i < pixels; i++) r[i] = g[i] = b[i] = px[2 * i];
      if (a)
        for (size_t i = 0; i < pixels; i++) a[i] = px[2 * i + 1];
      break;
    case 3:
      for (size_t i = 0; i < pixels; i++) {
        r[i] = px[3 * i];
        g[i] = px[3 * i + 1];
        b[i] = px[3 * i + 2];
      }
      if (a) memset(a, 255, pixels);
      break;
    default:
      for (size_t i = 0; i < pixels; i++) {
        r[i] = px[4 * i];
        g[i] = px[4 * i + 1];
        b[i] = px[4 * i + 2];
        if (a) a[i] = px[4 * i + 3];
      }
  }
}

/* A decoded image: w x h pixels of sc interleaved samples. */
typedef struct {
  uint8_t* px;
  int w, h, sc;
} decoded_t;

/* ---------------------------------------------------------------- JPEG */

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  int unhandled; /* the error means "not for this decoder" (12-bit data) */
} jerr_t;

static void jpeg_error_exit(j_common_ptr cinfo) {
  jerr_t* e = (jerr_t*)cinfo->err;
  if (e->pub.msg_code == JERR_BAD_PRECISION) e->unhandled = 1;
  longjmp(e->jb, 1);
}

/* Warnings are silent, as Pillow's are; running out of data is an error (Pillow: truncated). */
static void jpeg_emit_message(j_common_ptr cinfo, int level) {
  jerr_t* e = (jerr_t*)cinfo->err;
  if (level < 0) {
    e->pub.num_warnings++;
    if (e->pub.msg_code == JWRN_JPEG_EOF) longjmp(e->jb, 1);
  }
}

static void jpeg_output_nothing(j_common_ptr cinfo) { (void)cinfo; }

static int decode_jpeg(const uint8_t* bytes, size_t n, decoded_t* img, char* err, size_t errlen) {
  struct jpeg_decompress_struct cinfo;
  jerr_t jerr;
  /* volatile: read after a longjmp. */
  uint8_t* volatile px = NULL;
  JSAMPROW* volatile rows = NULL;
  memset(&jerr, 0, sizeof jerr);
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = jpeg_error_exit;
  jerr.pub.emit_message = jpeg_emit_message;
  jerr.pub.output_message = jpeg_output_nothing;
  if (setjmp(jerr.jb)) {
    char msg[JMSG_LENGTH_MAX];
    jerr.pub.format_message((j_common_ptr)&cinfo, msg);
    jpeg_destroy_decompress(&cinfo);
    free(px);
    free(rows);
    if (jerr.unhandled) {
      set_err(err, errlen, "JPEG not handled by the native decoder (%s)", msg);
      return TTI_UNHANDLED;
    }
    set_err(err, errlen, "corrupt or unsupported image: JPEG decode failed (%s)", msg);
    return TTI_CORRUPT;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes, (unsigned long)n);
  jpeg_read_header(&cinfo, TRUE);
  int sc;
  if (cinfo.num_components == 1 && cinfo.jpeg_color_space == JCS_GRAYSCALE) {
    cinfo.out_color_space = JCS_GRAYSCALE;
    sc = 1;
  } else if (cinfo.num_components == 3 &&
             (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB)) {
    cinfo.out_color_space = JCS_RGB;
    sc = 3;
  } else {
    static const char* names[] = {"unknown", "gray", "RGB", "YCbCr", "CMYK", "YCCK"};
    int cs = (int)cinfo.jpeg_color_space;
    set_err(err, errlen,
            "JPEG not handled by the native decoder (%d components, color space %s)",
            cinfo.num_components, cs >= 0 && cs <= 5 ? names[cs] : "other");
    jpeg_destroy_decompress(&cinfo);
    return TTI_UNHANDLED;
  }
  if ((uint64_t)cinfo.image_width * cinfo.image_height > TTI_MAX_PIXELS) {
    set_err(err, errlen, "corrupt or unsupported image: JPEG header claims %u x %u pixels",
            (unsigned)cinfo.image_width, (unsigned)cinfo.image_height);
    jpeg_destroy_decompress(&cinfo);
    return TTI_CORRUPT;
  }
  /* Pillow's settings (JpegDecode.c without draft): libjpeg's defaults, stated. */
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  cinfo.scale_num = 1;
  cinfo.scale_denom = 1;
  jpeg_start_decompress(&cinfo);
  int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
  size_t stride = (size_t)w * sc;
  px = malloc(stride * (size_t)h);
  rows = malloc(sizeof(JSAMPROW) * (size_t)h);
  if (px == NULL || rows == NULL) {
    set_err(err, errlen, "out of memory decoding a %d x %d JPEG", w, h);
    jpeg_destroy_decompress(&cinfo);
    free(px);
    free(rows);
    return TTI_CORRUPT;
  }
  for (int y = 0; y < h; y++) rows[y] = px + (size_t)y * stride;
  while (cinfo.output_scanline < cinfo.output_height) {
    jpeg_read_scanlines(&cinfo, rows + cinfo.output_scanline,
                        cinfo.output_height - cinfo.output_scanline);
  }
  /* No jpeg_finish_decompress: a missing EOI after complete image data is no error. */
  jpeg_destroy_decompress(&cinfo);
  free(rows);
  img->px = px;
  img->w = w;
  img->h = h;
  img->sc = sc;
  return TTI_OK;
}

/* ---------------------------------------------------------------- PNG */

typedef struct {
  const uint8_t* bytes;
  size_t n, pos;
  char msg[200];
} png_src_t;

static void png_read_mem(png_structp png, png_bytep data, png_size_t len) {
  png_src_t* s = (png_src_t*)png_get_io_ptr(png);
  if (len > s->n - s->pos) png_error(png, "file truncated");
  memcpy(data, s->bytes + s->pos, len);
  s->pos += len;
}

static void png_on_error(png_structp png, png_const_charp msg) {
  png_src_t* s = (png_src_t*)png_get_error_ptr(png);
  snprintf(s->msg, sizeof s->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

/*
 * The payload of the first `type` chunk before IDAT, found by walking the chunks
 * (libpng drops a palette tRNS longer than the palette, which Pillow and
 * imagescript both use). NULL when there is none.
 */
static const uint8_t* find_chunk(const uint8_t* bytes, size_t n, const char* type, size_t* len) {
  size_t pos = 8;
  while (pos + 8 <= n) {
    size_t l = ((size_t)bytes[pos] << 24) | ((size_t)bytes[pos + 1] << 16) |
               ((size_t)bytes[pos + 2] << 8) | bytes[pos + 3];
    const uint8_t* t = bytes + pos + 4;
    if (memcmp(t, "IDAT", 4) == 0 || l > n - pos - 8) return NULL;
    if (memcmp(t, type, 4) == 0) {
      *len = l;
      return bytes + pos + 8;
    }
    pos += 12 + l;
  }
  return NULL;
}

static int decode_png(const uint8_t* bytes, size_t n, decoded_t* img, char* err, size_t errlen) {
  png_src_t src = {bytes, n, 0, {0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error,
                                           png_on_warning);
  if (png == NULL) {
    set_err(err, errlen, "out of memory (png_create_read_struct)");
    return TTI_CORRUPT;
  }
  png_infop info = png_create_info_struct(png);
  uint8_t* volatile px = NULL;
  png_bytep* volatile rows = NULL;
  if (info == NULL || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    free(px);
    free(rows);
    set_err(err, errlen, "corrupt or unsupported image: PNG decode failed (%s)",
            src.msg[0] ? src.msg : "out of memory");
    return TTI_CORRUPT;
  }
  png_set_read_fn(png, &src, png_read_mem);
  png_read_info(png, info);
  png_uint_32 w, h;
  int depth, color, interlace;
  png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
  if ((uint64_t)w * h > TTI_MAX_PIXELS) {
    set_err(err, errlen, "corrupt or unsupported image: PNG header claims %u x %u pixels",
            (unsigned)w, (unsigned)h);
    png_destroy_read_struct(&png, &info, NULL);
    return TTI_CORRUPT;
  }
  int trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  const char* unhandled = NULL;
  /* Pillow opens 16-bit gray as mode I, whose convert() clips to 0..255 (not the high byte). */
  if (depth == 16 && (color == PNG_COLOR_TYPE_GRAY))
    unhandled = "16-bit grayscale PNG (Pillow clips it to 0..255)";
  /* Pillow compares a 16-bit tRNS color with the 8-bit samples it keeps. */
  else if (depth == 16 && trns)
    unhandled = "16-bit PNG with a tRNS color";
  /* Pillow compares the raw tRNS gray value with the samples scaled to 0..255. */
  else if (depth < 8 && color == PNG_COLOR_TYPE_GRAY && trns)
    unhandled = "1/2/4-bit grayscale PNG with a tRNS color";
  if (unhandled != NULL) {
    set_err(err, errlen, "PNG not handled by the native decoder (%s)", unhandled);
    png_destroy_read_struct(&png, &info, NULL);
    return TTI_UNHANDLED;
  }
  /* Palette: indices unpacked to bytes here, looked up below as Pillow's p2rgb / p2rgba do. */
  int palette = color == PNG_COLOR_TYPE_PALETTE;
  png_colorp plte = NULL;
  int nplte = 0;
  uint8_t alpha[256];
  int palette_alpha = 0;
  if (palette) {
    if (!png_get_PLTE(png, info, &plte, &nplte) || nplte <= 0) png_error(png, "no PLTE chunk");
    memset(alpha, 255, sizeof alpha);
    size_t tlen = 0;
    const uint8_t* t = find_chunk(bytes, n, "tRNS", &tlen);
    if (t != NULL) {
      palette_alpha = 1;
      memcpy(alpha, t, tlen < 256 ? tlen : 256);
    }
    if (depth < 8) png_set_packing(png);
  } else {
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    /* A gray or RGB key color: alpha 0 there, the color kept (Pillow's convert_transparent;
     * imagescript makes the pixel 0, 0, 0, 0). */
    if (trns) png_set_tRNS_to_alpha(png);
  }
  if (depth == 16) png_set_strip_16(png); /* the high byte, as Pillow's ;16B unpackers */
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int sc = png_get_channels(png, info);
  size_t stride = png_get_rowbytes(png, info);
  if (sc < 1 || sc > 4 || stride != (size_t)w * sc) {
    png_error(png, "unexpected layout after the transforms");
  }
  px = malloc(stride * h);
  rows = malloc(sizeof(png_bytep) * h);
  if (px == NULL || rows == NULL) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < h; y++) rows[y] = px + (size_t)y * stride;
  png_read_image(png, rows);
  if (palette) {
    /* Indices -> RGB(A) in place, from the end so no index is overwritten before it is read. */
    int psc = palette_alpha ? 4 : 3;
    uint8_t* grown = realloc(px, (size_t)w * h * psc);
    if (grown == NULL) png_error(png, "out of memory");
    px = grown;
    for (size_t i = (size_t)w * h; i-- > 0;) {
      int idx = px[i];
      if (idx >= nplte) {
        /* Pillow's palette past PLTE's entries is a gray ramp; imagescript's is its own. */
        png_destroy_read_struct(&png, &info, NULL);
        free(px);
        free(rows);
        set_err(err, errlen,
                "PNG not handled by the native decoder (palette index %d past its %d entries)",
                idx, nplte);
        return TTI_UNHANDLED;
      }
      uint8_t* d = px + i * psc;
      d[0] = plte[idx].red;
      d[1] = plte[idx].green;
      d[2] = plte[idx].blue;
      if (psc == 4) d[3] = alpha[idx];
    }
    sc = psc;
  }
  /* No png_read_end: what follows the image data (IEND, text) does not change the pixels. */
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  img->px = px;
  img->w = (int)w;
  img->h = (int)h;
  img->sc = sc;
  return TTI_OK;
}

/* ---------------------------------------------------------------- API */

int tti_decode(const uint8_t* bytes, size_t n, int channels, int out_h, int out_w, int antialias,
               uint8_t* out, int32_t* src_hw, char* err, size_t errlen) {
  if (err != NULL && errlen > 0) err[0] = 0;
  if (!(channels == 1 || channels == 3 || channels == 4) || out_h <= 0 || out_w <= 0) {
    set_err(err, errlen, "tti_decode: bad arguments (channels %d, size %d x %d)", channels,
            out_h, out_w);
    return TTI_CORRUPT;
  }
  decoded_t img = {NULL, 0, 0, 0};
  int rc;
  static const uint8_t png_sig[8] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a};
  if (n >= 8 && memcmp(bytes, png_sig, 8) == 0) {
    rc = decode_png(bytes, n, &img, err, errlen);
  } else if (n >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) {
    rc = decode_jpeg(bytes, n, &img, err, errlen);
  } else {
    set_err(err, errlen, "corrupt or unsupported image: not a PNG or JPEG");
    return TTI_CORRUPT;
  }
  if (rc != TTI_OK) return rc;
  if (img.w <= 0 || img.h <= 0) {
    free(img.px);
    set_err(err, errlen, "corrupt or unsupported image: decoded to %d x %d pixels", img.w, img.h);
    return TTI_CORRUPT;
  }
  if (src_hw != NULL) {
    src_hw[0] = img.h;
    src_hw[1] = img.w;
  }
  size_t pixels = (size_t)img.w * img.h;
  if (img.h == out_h && img.w == out_w) {
    to_planes(img.px, img.sc, pixels, channels, out);
    free(img.px);
    return TTI_OK;
  }
  uint8_t* planes = malloc(pixels * channels);
  if (planes == NULL) {
    free(img.px);
    set_err(err, errlen, "out of memory for a %d x %d image", img.w, img.h);
    return TTI_CORRUPT;
  }
  to_planes(img.px, img.sc, pixels, channels, planes);
  free(img.px);
  rc = tti_resize(planes, channels, img.h, img.w, out_h, out_w, antialias, out);
  free(planes);
  if (rc != 0) {
    set_err(err, errlen, "out of memory resizing a %d x %d image", img.w, img.h);
    return TTI_CORRUPT;
  }
  return TTI_OK;
}

void tti_version(char* buf, size_t len) {
#ifdef LIBJPEG_TURBO_VERSION
  const char* jpeg = "libjpeg-turbo " STR(LIBJPEG_TURBO_VERSION);
#else
  const char* jpeg = "libjpeg " STR(JPEG_LIB_VERSION);
#endif
  /* libpng's version at run time (its soname pins the 1.6 ABI). */
  set_err(buf, len, "%s + libpng %s", jpeg, png_get_libpng_ver(NULL));
}
