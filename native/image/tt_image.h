/*
 * tt_image.h: the C API of libttimage.so, the optional native image decoder
 * (native/image/decode_image.c, built by scripts/build_native.ts when
 * libjpeg(-turbo)'s and libpng's headers are found). No libtorch: it is
 * opened with Deno.dlopen in the decode workers (src/data/native_decoder.ts).
 *
 * It gives exactly what src/data/decode.ts's decodeImage gives: CHW uint8
 * planes of `channels` (1: Pillow's BT.601 luma in 16-bit fixed point, 3: RGB,
 * 4: RGBA, alpha 255 when the file has none), resized with Pillow's bilinear
 * (a bit-exact C port of src/data/resize.ts). JPEG is decoded the way Pillow
 * asks libjpeg to (JDCT_ISLOW, fancy upsampling, RGB or GRAYSCALE output), so
 * with the same libjpeg the pixels equal Pillow's; PNG as Pillow reads it:
 * 16-bit samples keep their high byte, low bit depths are scaled to 0..255,
 * palette and tRNS give alpha, interlaced files are supported, gAMA, iCCP and
 * sBIT are ignored.
 *
 * Thread safety: every function is reentrant (no global state).
 */
#ifndef TT_IMAGE_H
#define TT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes of tti_decode. */
enum tti_status {
  TTI_OK = 0,
  /* Corrupt, truncated or absurd (more than TTI_MAX_PIXELS pixels): err holds the reason. */
  TTI_CORRUPT = 1,
  /* Valid perhaps, but not decoded here exactly as Pillow would (CMYK/YCCK JPEG, 12-bit JPEG,
   * 16-bit gray PNG, 16-bit PNG with tRNS, ...): the caller decodes it another way. err says
   * why. */
  TTI_UNHANDLED = 2
};

/* Images with more pixels than this are refused (decode.ts's MAX_PIXELS). */
#define TTI_MAX_PIXELS (1u << 28)

/*
 * Decodes the PNG or JPEG in bytes[0..n) into `channels` (1, 3 or 4) planes of
 * out_h x out_w bytes each, written to out (channels * out_h * out_w bytes),
 * resized with Pillow's bilinear filter, antialiased when `antialias` is not 0
 * (src/data/resize.ts). src_hw (2 int32, may be NULL) receives the file's
 * height and width on TTI_OK. On failure err (errlen bytes, may be NULL)
 * receives a NUL-terminated message and out is left unspecified.
 */
int tti_decode(const uint8_t* bytes, size_t n, int channels, int out_h, int out_w, int antialias,
               uint8_t* out, int32_t* src_hw, char* err, size_t errlen);

/*
 * The resize alone (for tests): `planes` planes of in_h x in_w bytes stored one
 * after another -> planes of out_h x out_w in out. Returns 0, or 1 when a size
 * is not positive or memory runs out.
 */
int tti_resize(const uint8_t* src, int planes, int in_h, int in_w, int out_h, int out_w,
               int antialias, uint8_t* out);

/* The decoders inside, e.g. "libjpeg-turbo 2.1.5 + libpng 1.6.39" (NUL-terminated). */
void tti_version(char* buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
