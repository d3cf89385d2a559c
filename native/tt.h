/*
 * tt.h: the flat C ABI of the libtorch shim, bound from Deno by ffi/symbols.ts.
 *
 * Rules (see docs/ARCHITECTURE.md):
 *  - a tensor is an opaque handle; every handle an op returns is new and owned
 *    by the caller, who frees it with tt_free / tt_free_list;
 *  - every function returns 0 on success and 1 on failure; on failure
 *    tt_last_error() holds libtorch's message (thread-local);
 *  - results come back through out-pointers; ops never take ownership of inputs;
 *  - dtype codes are tt_dtype's (c10::ScalarType's values); device -1 is the CPU, n >= 0
 *    CUDA device n.
 * Keep ffi/symbols.ts in step with this file.
 */
#ifndef TT_H
#define TT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_tensor_s* tt_tensor;

/* Codes: every op family's op codes and every mode or kind argument are named here, used by
 * name in native/*.cpp and mirrored name for name in ffi/ops.ts (dtype codes in ffi/dtype.ts);
 * tests/ffi/symbols_test.ts compares them. */
/* dtypes: c10::ScalarType's values (native/tensor.cpp asserts it) */
enum tt_dtype {
  TT_DTYPE_UINT8 = 0, TT_DTYPE_INT8 = 1, TT_DTYPE_INT16 = 2, TT_DTYPE_INT32 = 3,
  TT_DTYPE_INT64 = 4, TT_DTYPE_FLOAT16 = 5, TT_DTYPE_FLOAT32 = 6, TT_DTYPE_FLOAT64 = 7,
  TT_DTYPE_BOOL = 11, TT_DTYPE_BFLOAT16 = 15
};
/* tt_unary */
enum tt_unary_op {
  TT_NEG = 0, TT_EXP, TT_LOG, TT_SQRT, TT_RSQRT, TT_ABS, TT_RELU, TT_SIGMOID, TT_TANH,
  TT_SIN, TT_COS, TT_FLOOR, TT_CEIL, TT_ROUND, TT_SIGN, TT_SQUARE, TT_RECIPROCAL,
  TT_LOGICAL_NOT, TT_ISFINITE, TT_TRUNC, TT_LOG1P, TT_EXPM1
};
/* tt_binary and tt_binary_scalar */
enum tt_binary_op {
  TT_ADD = 0, TT_SUB, TT_MUL, TT_DIV, TT_POW, TT_MAXIMUM, TT_MINIMUM, TT_EQ, TT_NE, TT_GT,
  TT_GE, TT_LT, TT_LE, TT_REMAINDER, TT_ATAN2, TT_LOGICAL_AND, TT_LOGICAL_OR, TT_RSUB,
  TT_FLOOR_DIVIDE
};
/* tt_inplace */
enum tt_inplace_op {
  TT_ADD_ = 0, TT_SUB_, TT_MUL_, TT_DIV_, TT_COPY_, TT_LERP_, TT_FILL_, TT_ZERO_,
  TT_CLAMP_MIN_, TT_CLAMP_MAX_, TT_RELU_
};
/* tt_reduce */
enum tt_reduce_op {
  TT_SUM = 0, TT_MEAN, TT_AMAX, TT_AMIN, TT_PROD, TT_STD, TT_VAR, TT_LOGSUMEXP, TT_ALL,
  TT_ANY
};
/* tt_like */
enum tt_like_kind {
  TT_LIKE_ZEROS = 0, TT_LIKE_ONES, TT_LIKE_FULL, TT_LIKE_EMPTY, TT_LIKE_RAND, TT_LIKE_RANDN
};
/* tt_rand and tt_rand_gen: uniform on [0, 1) or standard normal */
enum tt_rand_kind { TT_RAND_UNIFORM = 0, TT_RAND_NORMAL };
/* tt_contiguous's memory_format and tt_memory_format's answer */
enum tt_memory_format_kind { TT_FORMAT_CONTIGUOUS = 0, TT_FORMAT_CHANNELS_LAST };
/* tt_cross_entropy's reduction */
enum tt_reduction { TT_REDUCTION_NONE = 0, TT_REDUCTION_MEAN, TT_REDUCTION_SUM };
/* tt_grid_sample's mode and padding_mode */
enum tt_sample_mode { TT_SAMPLE_BILINEAR = 0, TT_SAMPLE_NEAREST, TT_SAMPLE_BICUBIC };
enum tt_sample_padding { TT_SAMPLE_PAD_ZEROS = 0, TT_SAMPLE_PAD_BORDER, TT_SAMPLE_PAD_REFLECTION };
/* tt_interpolate's mode */
enum tt_interp_mode {
  TT_INTERP_NEAREST = 0, TT_INTERP_BILINEAR, TT_INTERP_BICUBIC, TT_INTERP_AREA
};
/* tt_pad's mode */
enum tt_pad_mode { TT_PAD_CONSTANT = 0, TT_PAD_REFLECT, TT_PAD_REPLICATE, TT_PAD_CIRCULAR };
/* the device_type of the tt_autocast_* functions */
enum tt_device_type { TT_DEVICE_CPU = 0, TT_DEVICE_CUDA };
/* tt_color_jitter_cpu's order codes: the columns of its factors */
enum tt_jitter_op {
  TT_JITTER_BRIGHTNESS = 0, TT_JITTER_CONTRAST, TT_JITTER_SATURATION, TT_JITTER_HUE
};
/* tt_set_float32_matmul_precision's mode (torch.set_float32_matmul_precision's names) */
enum tt_matmul_precision { TT_MATMUL_HIGHEST = 0, TT_MATMUL_HIGH, TT_MATMUL_MEDIUM };
/* tt_advise_rows's advice (madvise's MADV_* of the same names) */
enum tt_advice {
  TT_ADVISE_NORMAL = 0, TT_ADVISE_RANDOM, TT_ADVISE_SEQUENTIAL, TT_ADVISE_WILLNEED,
  TT_ADVISE_DONTNEED
};

/* ---- errors and memory ---- */
const char* tt_last_error(void);
int32_t tt_free(tt_tensor t);
int32_t tt_free_list(const tt_tensor* ts, int64_t n);

/* ---- creation ---- */
int32_t tt_from_data(const void* data, int64_t nbytes, const int64_t* shape, int64_t ndim,
                     int32_t dtype, int32_t device, int32_t requires_grad, tt_tensor* out);
int32_t tt_full(const int64_t* shape, int64_t ndim, double value, int32_t dtype, int32_t device,
                int32_t requires_grad, tt_tensor* out);
int32_t tt_empty(const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device, tt_tensor* out);
/* kind a tt_rand_kind */
int32_t tt_rand(int32_t kind, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device,
                tt_tensor* out);
int32_t tt_randint(int64_t low, int64_t high, const int64_t* shape, int64_t ndim, int32_t dtype,
                   int32_t device, tt_tensor* out);
int32_t tt_randperm(int64_t n, int32_t device, tt_tensor* out);
int32_t tt_arange(double start, double end, double step, int32_t dtype, int32_t device,
                  tt_tensor* out);
int32_t tt_like(int32_t kind, tt_tensor a, double value, tt_tensor* out);

/* ---- metadata: out = [dtype, device, ndim, requires_grad, is_contiguous, numel, is_leaf,
 * has_grad, shape...]; cap is the length of out ---- */
int32_t tt_info(tt_tensor a, int64_t* out, int64_t cap);

/* ---- conversion ---- */
/* dtype -1 keeps the dtype, device -2 keeps the device */
int32_t tt_to(tt_tensor a, int32_t dtype, int32_t device, int32_t copy, tt_tensor* out);
/* memory_format a tt_memory_format_kind */
int32_t tt_contiguous(tt_tensor a, int32_t memory_format, tt_tensor* out);
/* the layout ATen's kernels pick from the strides, a tt_memory_format_kind */
int32_t tt_memory_format(tt_tensor a, int32_t* out);
int32_t tt_clone(tt_tensor a, tt_tensor* out);
int32_t tt_detach(tt_tensor a, tt_tensor* out);
int32_t tt_copy_to_buffer(tt_tensor a, void* buf, int64_t nbytes);
int32_t tt_item(tt_tensor a, double* out);

/* ---- views and joins ---- */
int32_t tt_reshape(tt_tensor a, const int64_t* shape, int64_t ndim, tt_tensor* out);
int32_t tt_view(tt_tensor a, const int64_t* shape, int64_t ndim, tt_tensor* out);
int32_t tt_permute(tt_tensor a, const int64_t* dims, int64_t ndim, tt_tensor* out);
int32_t tt_transpose(tt_tensor a, int64_t d0, int64_t d1, tt_tensor* out);
int32_t tt_flatten(tt_tensor a, int64_t start, int64_t end, tt_tensor* out);
/* all = 1 squeezes every size-1 dim and ignores dim */
int32_t tt_squeeze(tt_tensor a, int64_t dim, int32_t all, tt_tensor* out);
int32_t tt_unsqueeze(tt_tensor a, int64_t dim, tt_tensor* out);
int32_t tt_narrow(tt_tensor a, int64_t dim, int64_t start, int64_t length, tt_tensor* out);
int32_t tt_slice(tt_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step,
                 tt_tensor* out);
int32_t tt_select(tt_tensor a, int64_t dim, int64_t index, tt_tensor* out);
int32_t tt_index_select(tt_tensor a, int64_t dim, tt_tensor index, tt_tensor* out);
int32_t tt_gather(tt_tensor a, int64_t dim, tt_tensor index, tt_tensor* out);
int32_t tt_scatter_add(tt_tensor a, int64_t dim, tt_tensor index, tt_tensor src, tt_tensor* out);
int32_t tt_expand(tt_tensor a, const int64_t* shape, int64_t ndim, tt_tensor* out);
int32_t tt_repeat(tt_tensor a, const int64_t* reps, int64_t ndim, tt_tensor* out);
int32_t tt_flip(tt_tensor a, const int64_t* dims, int64_t ndim, tt_tensor* out);
int32_t tt_cat(const tt_tensor* ts, int64_t n, int64_t dim, tt_tensor* out);
int32_t tt_stack(const tt_tensor* ts, int64_t n, int64_t dim, tt_tensor* out);
/* outs has room for cap handles; count receives how many were written */
int32_t tt_chunk(tt_tensor a, int64_t chunks, int64_t dim, tt_tensor* outs, int64_t cap,
                 int64_t* count);
int32_t tt_split(tt_tensor a, const int64_t* sizes, int64_t nsizes, int64_t dim, tt_tensor* outs,
                 int64_t cap, int64_t* count);

/* ---- math ---- */
int32_t tt_unary(int32_t op, tt_tensor a, tt_tensor* out);
/* alpha scales b for add and sub (a + alpha * b) */
int32_t tt_binary(int32_t op, tt_tensor a, tt_tensor b, double alpha, tt_tensor* out);
int32_t tt_binary_scalar(int32_t op, tt_tensor a, double s, tt_tensor* out);
/* in place on a: ops taking a tensor b (add_, sub_, mul_, div_, copy_, lerp_) use s as alpha or
 * weight; scalar ops (fill_, zero_, clamp_min_, clamp_max_, add_/mul_/... with b null) use s */
int32_t tt_inplace(int32_t op, tt_tensor a, tt_tensor b, double s);
int32_t tt_clamp(tt_tensor a, double lo, double hi, int32_t has_lo, int32_t has_hi,
                 tt_tensor* out);
int32_t tt_matmul(tt_tensor a, tt_tensor b, tt_tensor* out);
/* ndims 0 reduces over everything; correction is the std/var Bessel correction */
int32_t tt_reduce(int32_t op, tt_tensor a, const int64_t* dims, int64_t ndims, int32_t keepdim,
                  double correction, tt_tensor* out);
/* has_dim 0: over the flattened tensor */
int32_t tt_argmax(tt_tensor a, int64_t dim, int32_t has_dim, int32_t keepdim, int32_t is_min,
                  tt_tensor* out);
int32_t tt_topk(tt_tensor a, int64_t k, int64_t dim, int32_t largest, int32_t sorted,
                tt_tensor* values, tt_tensor* indices);
int32_t tt_norm(tt_tensor a, double p, const int64_t* dims, int64_t ndims, int32_t keepdim,
                tt_tensor* out);
int32_t tt_normalize(tt_tensor a, double p, int64_t dim, double eps, tt_tensor* out);
int32_t tt_softmax(tt_tensor a, int64_t dim, int32_t log, tt_tensor* out);
int32_t tt_where(tt_tensor cond, tt_tensor a, tt_tensor b, tt_tensor* out);
int32_t tt_masked_fill(tt_tensor a, tt_tensor mask, double value, tt_tensor* out);
int32_t tt_lerp(tt_tensor a, tt_tensor b, tt_tensor weight, tt_tensor* out);
int32_t tt_one_hot(tt_tensor a, int64_t num_classes, tt_tensor* out);
int32_t tt_cumsum(tt_tensor a, int64_t dim, tt_tensor* out);
int32_t tt_sort(tt_tensor a, int64_t dim, int32_t descending, tt_tensor* values,
                tt_tensor* indices);

/* ---- fused list ops: one call for a whole parameter list ---- */
/* dst[i] += weight * (src[i] - dst[i]) */
int32_t tt_lerp_list(const tt_tensor* dst, const tt_tensor* src, int64_t n, double weight);
int32_t tt_copy_list(const tt_tensor* dst, const tt_tensor* src, int64_t n);
/* set_to_none 1 drops the grads, 0 zeroes them */
int32_t tt_zero_grad_list(const tt_tensor* ts, int64_t n, int32_t set_to_none);
/* dst[i].lerp_(src[i], weight): weight a one-element tensor (cast to each dst's dtype) */
int32_t tt_lerp_list_tensor(const tt_tensor* dst, const tt_tensor* src, int64_t n,
                            tt_tensor weight);
/* ts[i].fill_(values[i]) (no grad, no device sync) */
int32_t tt_fill_scalars(const tt_tensor* ts, const double* values, int64_t n);
/* out[i] = ts[i].item() (a device sync per tensor) */
int32_t tt_read_scalars(const tt_tensor* ts, double* out, int64_t n);

/* ---- nn functional ---- */
int32_t tt_linear(tt_tensor x, tt_tensor w, tt_tensor b, tt_tensor* out);
int32_t tt_conv2d(tt_tensor x, tt_tensor w, tt_tensor b, const int64_t* stride,
                  const int64_t* padding, const int64_t* dilation, int64_t groups,
                  tt_tensor* out);
/* num_batches_tracked (nullable) is incremented in the same call when training */
int32_t tt_batch_norm(tt_tensor x, tt_tensor w, tt_tensor b, tt_tensor running_mean,
                      tt_tensor running_var, tt_tensor num_batches_tracked, int32_t training,
                      double momentum, double eps, tt_tensor* out);
int32_t tt_max_pool2d(tt_tensor x, const int64_t* kernel, const int64_t* stride,
                      const int64_t* padding, int32_t ceil_mode, tt_tensor* out);
int32_t tt_avg_pool2d(tt_tensor x, const int64_t* kernel, const int64_t* stride,
                      const int64_t* padding, tt_tensor* out);
int32_t tt_adaptive_avg_pool2d(tt_tensor x, int64_t oh, int64_t ow, tt_tensor* out);
/* reduction a tt_reduction */
int32_t tt_cross_entropy(tt_tensor logits, tt_tensor target, int32_t reduction,
                         double label_smoothing, tt_tensor* out);
int32_t tt_affine_grid(tt_tensor theta, const int64_t* size, int64_t ndim, int32_t align_corners,
                       tt_tensor* out);
/* mode a tt_sample_mode, padding_mode a tt_sample_padding */
int32_t tt_grid_sample(tt_tensor x, tt_tensor grid, int32_t mode, int32_t padding_mode,
                       int32_t align_corners, tt_tensor* out);
/* mode a tt_interp_mode */
int32_t tt_interpolate(tt_tensor x, int64_t oh, int64_t ow, int32_t mode, int32_t align_corners,
                       int32_t antialias, tt_tensor* out);
/* mode a tt_pad_mode */
int32_t tt_pad(tt_tensor x, const int64_t* pads, int64_t npads, int32_t mode, double value,
               tt_tensor* out);

/* ---- autograd ---- */
int32_t tt_set_requires_grad(tt_tensor a, int32_t flag);
int32_t tt_backward(tt_tensor a, tt_tensor grad, int32_t retain_graph);
/* out is null when a has no grad */
int32_t tt_grad(tt_tensor a, tt_tensor* out);
int32_t tt_set_grad(tt_tensor a, tt_tensor g);
/* enabled -1 only queries; prev receives the state before the call */
int32_t tt_grad_mode(int32_t enabled, int32_t* prev);
/* enter 1 pushes a c10::InferenceMode guard, 0 pops the innermost one */
int32_t tt_inference_mode(int32_t enter);

/* ---- optimizers: one call steps every parameter; see src/optim ---- */
/* inited[i] 0 means the momentum buffer is fresh (PyTorch's "None"); set to 1 by the step */
int32_t tt_sgd_step(const tt_tensor* params, const tt_tensor* bufs, uint8_t* inited, int64_t n,
                    double lr, double momentum, double dampening, double weight_decay,
                    int32_t nesterov);
/* steps[i] is the per-parameter step count, incremented by the call */
int32_t tt_adamw_step(const tt_tensor* params, const tt_tensor* exp_avg,
                      const tt_tensor* exp_avg_sq, int64_t* steps, int64_t n, double lr,
                      double beta1, double beta2, double eps, double weight_decay);
/* exclude[i] 1 skips weight decay and trust-ratio adaptation (biases, norm params) */
int32_t tt_lars_step(const tt_tensor* params, const tt_tensor* bufs, const uint8_t* exclude,
                     int64_t n, double lr, double momentum, double weight_decay,
                     double trust_coefficient, int32_t nesterov);
/* capturable steps (torch.optim's capturable=True): the same updates with lr a 0-dim float32
 * tensor on the parameters' device and no host read of a device value, so a CUDA graph can record
 * them; AdamW's steps[i] are 0-dim float32 tensors incremented on the device */
int32_t tt_sgd_step_capturable(const tt_tensor* params, const tt_tensor* bufs, uint8_t* inited,
                               int64_t n, tt_tensor lr, double momentum, double dampening,
                               double weight_decay, int32_t nesterov);
int32_t tt_adamw_step_capturable(const tt_tensor* params, const tt_tensor* exp_avg,
                                 const tt_tensor* exp_avg_sq, const tt_tensor* steps, int64_t n,
                                 tt_tensor lr, double beta1, double beta2, double eps,
                                 double weight_decay);
int32_t tt_lars_step_capturable(const tt_tensor* params, const tt_tensor* bufs,
                                const uint8_t* exclude, int64_t n, tt_tensor lr, double momentum,
                                double weight_decay, double trust_coefficient, int32_t nesterov);

/* ---- augmentation (CPU kernels; the CUDA path composes tensor ops) ---- */
/* x float32 (N, C, H, W), C 1 or 3; factors (N, 4) brightness, contrast, saturation, hue;
 * order (N, 4) tt_jitter_op codes (others skip); gray (N,) bool or null */
int32_t tt_color_jitter_cpu(tt_tensor x, tt_tensor factors, tt_tensor order, tt_tensor gray,
                            tt_tensor* out);
/* TF.resized_crop (bilinear, antialias off) + hflip per image: x uint8 (read as x / 255) or
 * float32 (N, C, H, W); boxes (N, 4) top, left, height, width; flip (N,) bool or null */
int32_t tt_resized_crop_cpu(tt_tensor x, tt_tensor boxes, tt_tensor flip, int64_t out_h,
                            int64_t out_w, tt_tensor* out);
/* TF.solarize where mask[n] (threshold on [0, 1] floats; mask null: none), then TF.normalize
 * with nchan means and stds; x float32 (N, C, H, W) */
int32_t tt_solarize_normalize_cpu(tt_tensor x, tt_tensor mask, double threshold,
                                  const double* mean, const double* std_, int64_t nchan,
                                  tt_tensor* out);

/* ---- runtime ---- */
int32_t tt_manual_seed(uint64_t seed);
int32_t tt_set_num_threads(int32_t n);
int32_t tt_get_num_threads(int32_t* out);
/* CPU tensors' caching allocator (cpu_cache.cpp): 1 keeps freed blocks of
   1 MiB and more mapped for reuse by size, 0 unmaps them on free (and drops
   the cache); *applied = 1 when it is libtorch's CPU allocator */
int32_t tt_cpu_memory_caching(int32_t on, int32_t* applied);
/* out[4]: bytes mapped (live + cached), bytes cached (free), mmap calls, live blocks */
int32_t tt_cpu_cache_stats(int64_t* out);
/* unmaps the cached free blocks */
int32_t tt_cpu_empty_cache(void);
int32_t tt_cuda_is_available(int32_t* out);
int32_t tt_cuda_device_count(int32_t* out);
int32_t tt_cuda_synchronize(int32_t device);
int32_t tt_set_cudnn_benchmark(int32_t flag);
/* on 1: deterministic algorithms (an op without a deterministic kernel raises), cuDNN deterministic
 * with benchmark off, CUBLAS_WORKSPACE_CONFIG=:4096:8 unless set; on 0: the first two off */
int32_t tt_set_deterministic(int32_t on);
/* out[3]: deterministic algorithms, cuDNN deterministic, cuDNN benchmark (0 or 1 each) */
int32_t tt_deterministic_state(int32_t* out);
/* mode a tt_matmul_precision (torch.set_float32_matmul_precision), and the current one */
int32_t tt_set_float32_matmul_precision(int32_t mode);
int32_t tt_float32_matmul_precision(int32_t* out);
/* torch.backends.cudnn.allow_tf32 (0 or 1) */
int32_t tt_set_cudnn_allow_tf32(int32_t on);
int32_t tt_cudnn_allow_tf32(int32_t* out);
/* the number of shim calls made so far by the whole process: each call of a function whose body
 * runs in common.h's PROTECT counts once, failed calls too; not counted: this one (reading does
 * not change the count), tt_last_error, tt_torch_version and the build queries
 * (tt_compiled_with_cuda, tt_dist_has_gloo, tt_dist_has_nccl) */
int32_t tt_ffi_calls(int64_t* out);
/* the default generator's state of a device, as a uint8 tensor, and back */
int32_t tt_rng_get_state(int32_t device, tt_tensor* out);
int32_t tt_rng_set_state(int32_t device, tt_tensor state);
/* autocast (torch.autocast) on a tt_device_type: enter turns it on in dtype and
   writes the previous state to prev[2] (enabled, dtype); exit restores it and, leaving the
   outermost region, clears the cast cache */
int32_t tt_autocast_enter(int32_t device_type, int32_t dtype, int32_t* prev);
int32_t tt_autocast_exit(int32_t device_type, const int32_t* prev);
int32_t tt_autocast_enabled(int32_t device_type, int32_t* out);
/* 1 when CUDA device `device` has native bfloat16 (compute capability >= 8), 0 not, -1 unknown */
int32_t tt_cuda_bf16_supported(int32_t device, int32_t* out);
const char* tt_torch_version(void);
/* 1 when the shim was compiled with CUDA support */
int32_t tt_compiled_with_cuda(void);

/* ---- generators ---- */
/* an explicit random generator (a heap at::Generator), freed with tt_generator_free */
typedef struct tt_generator_s* tt_generator;
int32_t tt_generator_new(int32_t device, uint64_t seed, tt_generator* out);
int32_t tt_generator_free(tt_generator g);
/* the generator's state as a uint8 tensor, and back */
int32_t tt_generator_get_state(tt_generator g, tt_tensor* out);
int32_t tt_generator_set_state(tt_generator g, tt_tensor state);
/* kind a tt_rand_kind; g null uses the device's default generator */
int32_t tt_rand_gen(int32_t kind, tt_generator g, const int64_t* shape, int64_t ndim,
                    int32_t dtype, int32_t device, tt_tensor* out);

/* ---- memory-mapped files (native/mapped_file.cpp) ---- */
/* a CPU uint8 tensor of `shape` over the bytes [offset, offset + prod(shape)) of the file at path,
 * no copy: mmap MAP_PRIVATE with PROT_READ | PROT_WRITE (and MAP_NORESERVE), from the page below
 * offset; pages only read stay shared page-cache pages, an in-place write makes a private copy that
 * never reaches the file. The descriptor is closed at once; the map is unmapped when the last
 * tensor or view over it is freed (it outlives an unlink of the file). Fails with one line naming
 * the path when the file cannot be opened or holds fewer than offset + prod(shape) bytes. An empty
 * shape product gives an empty tensor and maps nothing. */
int32_t tt_map_file(const char* path, int64_t offset, const int64_t* shape, int64_t ndim,
                    tt_tensor* out);
/* paging advice (a tt_advice) for a contiguous CPU tensor's dim-0 rows. On a tensor of
 * tt_map_file: WILLNEED madvises the pages each listed row touches (merged; the kernel reads them
 * ahead asynchronously); DONTNEED drops the pages wholly inside the listed rows from the process
 * (clean pages are read from the file again on the next access; a private write to them is lost);
 * NORMAL, RANDOM and SEQUENTIAL set the read-ahead policy of the whole map, rows ignored (may be
 * null). On other memory: WILLNEED madvises the rows' pages (a hint, its errors ignored: swapped
 * pages are read back), the others do nothing (DONTNEED would zero anonymous memory). A row
 * outside [0, size(0)) is an error naming it. */
int32_t tt_advise_rows(tt_tensor t, const int64_t* rows, int64_t n, int32_t advice);
/* bytes an unprivileged user may still write on the file system holding path (statvfs's
 * f_bavail * f_frsize); an error when path does not exist */
int32_t tt_disk_available(const char* path, int64_t* out);
/* the address of the tensor's first element (a device address for a CUDA tensor) */
int32_t tt_data_ptr(tt_tensor t, void** out);

/* ---- host-to-device transfer (native/transfer.cpp) ----
 * What a prefetcher needs to move gathered batches to a CUDA device ahead of use. The CUDA
 * functions exist in every build; in one without CUDA they fail with one line saying so. */
/* t (a dense CPU tensor) copied into pinned (page-locked) host memory; t itself when already
 * pinned. Needs a CUDA build and a visible device */
int32_t tt_pin_memory(tt_tensor t, tt_tensor* out);
/* *out = 1 when t is in pinned host memory (0 in a build or on a machine without CUDA) */
int32_t tt_is_pinned(tt_tensor t, int32_t* out);
/* at::index_select_out: src's slices at index along dim written into out, which must already
 * have the gather's shape and src's dtype (it is never resized: a pinned buffer stays pinned) */
int32_t tt_index_select_out(tt_tensor src, int64_t dim, tt_tensor index, tt_tensor out);
/* dst.copy_(src, non_blocking=true): asynchronous between pinned host memory and a CUDA device,
 * on the current stream; the source must not be rewritten, nor the destination read on another
 * stream, before the copy is done (an event recorded after it says when) */
int32_t tt_copy_non_blocking(tt_tensor dst, tt_tensor src);
/* a CUDA event (c10::Event) of CUDA device `device`, freed with tt_cuda_event_free (null: a no-op) */
typedef struct tt_cuda_event_s* tt_cuda_event;
int32_t tt_cuda_event_new(int32_t device, tt_cuda_event* out);
/* records the event on the current stream of its device (re-recording makes a new version) */
int32_t tt_cuda_event_record(tt_cuda_event ev);
/* the current stream of the event's device runs nothing queued after this before the event's
 * recorded work is done (no host wait; a no-op for an event never recorded) */
int32_t tt_cuda_event_wait(tt_cuda_event ev);
/* the host waits for the event's recorded work (at once for an event never recorded) */
int32_t tt_cuda_event_synchronize(tt_cuda_event ev);
/* *done = 1 when the recorded work is done (or nothing was recorded), 0 while it runs */
int32_t tt_cuda_event_query(tt_cuda_event ev, int32_t* done);
int32_t tt_cuda_event_free(tt_cuda_event ev);
/* makes the device's copy stream (one per device, from the pool, kept) current on the device,
 * joining no other stream: order work on it with events. end makes the previous stream current
 * again, with no wait. Nest; one thread */
int32_t tt_cuda_copy_stream_begin(int32_t device);
int32_t tt_cuda_copy_stream_end(int32_t device);

/* ---- CUDA graphs (native/cuda_graph.cpp) ----
 * at::cuda::CUDAGraph, as torch.cuda.CUDAGraph and torch.cuda.graph. Built on a CUDA libtorch 2.x
 * whose CUDA headers the build finds (tt_cuda_graphs_available 1); elsewhere every function
 * fails with one line saying why and naming --cuda-graphs off (freeing a null handle is a no-op).
 * One capture at a time in the process, driven from one thread. */
typedef struct tt_cuda_graph_s* tt_cuda_graph;
/* *out = 1 when the shim was built with CUDA graphs (a CUDA device is needed besides) */
int32_t tt_cuda_graphs_available(int32_t* out);
/* an empty graph; needs a CUDA device */
int32_t tt_cuda_graph_new(tt_cuda_graph* out);
/* a graph freed mid-capture abandons the capture first */
int32_t tt_cuda_graph_free(tt_cuda_graph g);
/* gen (a CUDA generator of tt_generator_new) draws afresh at each replay, as it would eagerly;
 * before capture_begin (libtorch 2.14 registers a generator on its first draw in a capture) */
int32_t tt_cuda_graph_register_generator(tt_cuda_graph g, tt_generator gen);
/* as torch.cuda.graph's enter: synchronizes the device, empties the caching allocator's cache,
 * makes a side stream from the pool (waiting on the device's current stream) current on the
 * device, turns autocast's cast cache off and begins capturing into a private memory pool */
int32_t tt_cuda_graph_capture_begin(tt_cuda_graph g, int32_t device);
/* ends the capture and instantiates the graph; the previous stream waits on the side stream and
 * is current again, autocast's cache setting is restored. On failure (an op in the capture could
 * not be captured, or ending it failed) the capture is abandoned, the graph left empty and the
 * stream, autocast and the allocator are as before capture_begin: the work can run eagerly */
int32_t tt_cuda_graph_capture_end(tt_cuda_graph g);
/* runs the captured work on the current stream of the capture device */
int32_t tt_cuda_graph_replay(tt_cuda_graph g);
/* drops the captured graph and its memory pool; the graph can capture again */
int32_t tt_cuda_graph_reset(tt_cuda_graph g);
/* torch's warm-up recipe: begin makes a side stream (waiting on the device's current stream)
 * current on the device; end makes the previous stream current again, waiting on the side
 * stream. Nest; not while a graph is capturing */
int32_t tt_cuda_side_stream_begin(int32_t device);
int32_t tt_cuda_side_stream_end(int32_t device);
/* free and total memory of CUDA device `device` in bytes (cudaMemGetInfo; built with the CUDA
 * headers, as CUDA graphs are, else an error naming the build) */
int32_t tt_cuda_mem_get_info(int32_t device, int64_t* free_bytes, int64_t* total_bytes);

/* ---- distributed: c10d stores and process groups (native/dist_*.cpp) ----
 * Built with Gloo (tt_dist_has_gloo() 1) and/or NCCL (tt_dist_has_nccl() 1); with neither, every function
 * below fails with a message saying how to get it. Collectives block the calling thread; every
 * wait is bounded by the group's timeout, and a timeout or a dead peer is an error naming the
 * collective. Tensors must be contiguous, on the CPU for Gloo and on CUDA for NCCL. */
typedef struct tt_store_s* tt_store;
typedef struct tt_pg_s* tt_pg;
enum tt_reduce_kind { TT_RED_SUM = 0, TT_RED_PRODUCT, TT_RED_MIN, TT_RED_MAX, TT_RED_AVG };
/* 1 when the shim was built with Gloo */
int32_t tt_dist_has_gloo(void);
/* 1 when the shim was built with NCCL (a CUDA libtorch 2.x with c10d's NCCL headers): backend
 * "nccl", whose collectives take CUDA tensors */
int32_t tt_dist_has_nccl(void);
/* a TCPStore at host:port (is_server 1 hosts it, multi-tenant, for world_size workers), wrapped in
 * a PrefixStore when prefix is non-empty (torchrun's "/worker/attempt_N") */
int32_t tt_store_new(const char* host, int32_t port, int32_t is_server, int32_t world_size,
                     int64_t timeout_ms, const char* prefix, tt_store* out);
int32_t tt_store_free(tt_store s);
/* the default process group over store as PyTorch's init_process_group builds it ("default_pg"
 * and the group's prefixes, store-based barrier, sequence number); backend "gloo" or "nccl" */
int32_t tt_pg_new(tt_store store, int32_t rank, int32_t world_size, const char* backend,
                  int64_t timeout_ms, tt_pg* out);
int32_t tt_pg_free(tt_pg pg);
/* in place; op a tt_reduce_kind (average: sum, then divide by the world size) */
int32_t tt_pg_all_reduce(tt_pg pg, tt_tensor t, int32_t op);
int32_t tt_pg_broadcast(tt_pg pg, tt_tensor t, int32_t src);
/* outs has room for cap handles (cap >= world size); one new tensor per rank */
int32_t tt_pg_all_gather(tt_pg pg, tt_tensor t, tt_tensor* outs, int64_t cap);
int32_t tt_pg_barrier(tt_pg pg);
/* in place on every tensor: flattens them in order into buckets of at most bucket_bytes (a new
 * bucket also starts where the dtype changes), all-reduces the buckets concurrently (sum), waits,
 * divides by the world size when average is 1 and copies back; *nbuckets receives the count */
int32_t tt_pg_all_reduce_buckets(tt_pg pg, const tt_tensor* ts, int64_t n, int64_t bucket_bytes,
                                 int32_t average, int64_t* nbuckets);
/* DistributedDataParallel's gradient buckets over params (in reverse order, as backward makes the
 * gradients; the first bucket at most 1 MB, the others bucket_bytes; a new bucket also starts where
 * the dtype changes): zeroed flat storage per bucket and a slot per parameter with its shape and
 * strides; holds the parameters. An iteration: backward (armed: hooks launch the buckets whose
 * gradients are ready), bind, launch, finish. */
typedef struct tt_grad_buckets_s* tt_grad_buckets;
int32_t tt_grad_buckets_new(const tt_tensor* params, int64_t n, int64_t bucket_bytes,
                            tt_grad_buckets* out, int64_t* nbuckets);
/* removes the hooks; buckets still in flight stay alive until done */
int32_t tt_grad_buckets_free(tt_grad_buckets b);
/* makes every parameter's gradient its slot (a gradient that is not yet its slot is copied in and
 * replaced by it, so the next backward accumulates into the bucket); writes the indices of the
 * parameters without a gradient to missing (room for cap) and their count to *nmissing */
int32_t tt_grad_buckets_bind(tt_grad_buckets b, int64_t* missing, int64_t cap, int64_t* nmissing);
/* registers a hook on each parameter's gradient accumulator: during backward a parameter whose
 * gradient is made is bound and marked ready, and each bucket whose parameters are all ready is
 * launched (sum over pg), in bucket order; a second gradient of one parameter before finish is an
 * error reported by finish */
int32_t tt_grad_buckets_arm(tt_pg pg, tt_grad_buckets b);
/* on = 0: the hooks do nothing (DDP's no_sync) until set to 1 again */
int32_t tt_grad_buckets_set_hooks(tt_grad_buckets b, int32_t on);
/* launches (sum over pg, asynchronously) every bucket backward did not launch, in bucket order */
int32_t tt_grad_buckets_launch(tt_pg pg, tt_grad_buckets b);
/* waits for every launched bucket, divides each by the world size when average is 1 (every bound
 * gradient becomes its average) and starts the next iteration; *early (may be null) receives the
 * number of buckets the hooks launched during backward. Fails with the first error (a
 * collective's or a hook's) once nothing is in flight */
int32_t tt_grad_buckets_finish(tt_grad_buckets b, int32_t average, int64_t* early);
/* a new tensor: the sum of a copy of t (floating point) over the ranks, differentiable (an autograd
 * function whose backward sums the incoming gradient over the ranks; torch.distributed.nn's
 * all_reduce). SyncBatchNorm's statistics go through it. The graph keeps the group alive. */
int32_t tt_pg_all_reduce_autograd(tt_pg pg, tt_tensor t, tt_tensor* out);

#ifdef __cplusplus
}
#endif

#endif /* TT_H */
