// The one symbols table of the shim (native/tt.h). Each parameter carries its C
// type in a comment. Keep it in step with tt.h: tests/ffi/symbols_test.ts
// checks that every tt_ function of the header is bound here.

const status = "i32" as const;

export const symbols = {
  tt_last_error: { parameters: [], result: "pointer" }, // const char* (void)

  // ---- memory ----
  tt_free: { parameters: ["pointer"], result: status }, // (tt_tensor)
  tt_free_list: { parameters: ["buffer", "i64"], result: status }, // (const tt_tensor*, int64 n)

  // ---- creation ----
  tt_from_data: {
    // (const void* data, int64 nbytes, const int64* shape, int64 ndim, int32 dtype, int32 device,
    //  int32 requires_grad, tt_tensor* out)
    parameters: ["buffer", "i64", "buffer", "i64", "i32", "i32", "i32", "buffer"],
    result: status,
  },
  tt_full: {
    // (const int64* shape, int64 ndim, double value, int32 dtype, int32 device,
    //  int32 requires_grad, tt_tensor* out)
    parameters: ["buffer", "i64", "f64", "i32", "i32", "i32", "buffer"],
    result: status,
  },
  tt_empty: {
    // (const int64* shape, int64 ndim, int32 dtype, int32 device, tt_tensor* out)
    parameters: ["buffer", "i64", "i32", "i32", "buffer"],
    result: status,
  },
  tt_rand: {
    // (int32 kind, const int64* shape, int64 ndim, int32 dtype, int32 device, tt_tensor* out)
    parameters: ["i32", "buffer", "i64", "i32", "i32", "buffer"],
    result: status,
  },
  tt_randint: {
    // (int64 low, int64 high, const int64* shape, int64 ndim, int32 dtype, int32 device,
    //  tt_tensor* out)
    parameters: ["i64", "i64", "buffer", "i64", "i32", "i32", "buffer"],
    result: status,
  },
  tt_randperm: { parameters: ["i64", "i32", "buffer"], result: status }, // (int64 n, int32 device, tt_tensor* out)
  tt_arange: {
    // (double start, double end, double step, int32 dtype, int32 device, tt_tensor* out)
    parameters: ["f64", "f64", "f64", "i32", "i32", "buffer"],
    result: status,
  },
  tt_like: { parameters: ["i32", "pointer", "f64", "buffer"], result: status }, // (int32 kind, tt_tensor a, double value, tt_tensor* out)

  // ---- metadata ----
  tt_info: { parameters: ["pointer", "buffer", "i64"], result: status }, // (tt_tensor a, int64* out, int64 cap)

  // ---- conversion ----
  tt_to: { parameters: ["pointer", "i32", "i32", "i32", "buffer"], result: status }, // (tt_tensor a, int32 dtype, int32 device, int32 copy, tt_tensor* out)
  tt_contiguous: { parameters: ["pointer", "i32", "buffer"], result: status }, // (tt_tensor a, int32 memory_format, tt_tensor* out)
  tt_memory_format: { parameters: ["pointer", "buffer"], result: status }, // (tt_tensor a, int32* out)
  tt_clone: { parameters: ["pointer", "buffer"], result: status }, // (tt_tensor a, tt_tensor* out)
  tt_detach: { parameters: ["pointer", "buffer"], result: status }, // (tt_tensor a, tt_tensor* out)
  tt_copy_to_buffer: { parameters: ["pointer", "buffer", "i64"], result: status }, // (tt_tensor a, void* buf, int64 nbytes)
  tt_item: { parameters: ["pointer", "buffer"], result: status }, // (tt_tensor a, double* out)

  // ---- views and joins ----
  tt_reshape: { parameters: ["pointer", "buffer", "i64", "buffer"], result: status }, // (tt_tensor a, const int64* shape, int64 ndim, tt_tensor* out)
  tt_view: { parameters: ["pointer", "buffer", "i64", "buffer"], result: status }, // (tt_tensor a, const int64* shape, int64 ndim, tt_tensor* out)
  tt_permute: { parameters: ["pointer", "buffer", "i64", "buffer"], result: status }, // (tt_tensor a, const int64* dims, int64 ndim, tt_tensor* out)
  tt_transpose: { parameters: ["pointer", "i64", "i64", "buffer"], result: status }, // (tt_tensor a, int64 d0, int64 d1, tt_tensor* out)
  tt_flatten: { parameters: ["pointer", "i64", "i64", "buffer"], result: status }, // (tt_tensor a, int64 start, int64 end, tt_tensor* out)
  tt_squeeze: { parameters: ["pointer", "i64", "i32", "buffer"], result: status }, // (tt_tensor a, int64 dim, int32 all, tt_tensor* out)
  tt_unsqueeze: { parameters: ["pointer", "i64", "buffer"], result: status }, // (tt_tensor a, int64 dim, tt_tensor* out)
  tt_narrow: { parameters: ["pointer", "i64", "i64", "i64", "buffer"], result: status }, // (tt_tensor a, int64 dim, int64 start, int64 length, tt_tensor* out)
  tt_slice: {
    // (tt_tensor a, int64 dim, int64 start, int64 end, int64 step, tt_tensor* out)
    parameters: ["pointer", "i64", "i64", "i64", "i64", "buffer"],
    result: status,
  },
  tt_select: { parameters: ["pointer", "i64", "i64", "buffer"], result: status }, // (tt_tensor a, int64 dim, int64 index, tt_tensor* out)
  tt_index_select: { parameters: ["pointer", "i64", "pointer", "buffer"], result: status }, // (tt_tensor a, int64 dim, tt_tensor index, tt_tensor* out)
  tt_gather: { parameters: ["pointer", "i64", "pointer", "buffer"], result: status }, // (tt_tensor a, int64 dim, tt_tensor index, tt_tensor* out)
  tt_scatter_add: {
    // (tt_tensor a, int64 dim, tt_tensor index, tt_tensor src, tt_tensor* out)
    parameters: ["pointer", "i64", "pointer", "pointer", "buffer"],
    result: status,
  },
  tt_expand: { parameters: ["pointer", "buffer", "i64", "buffer"], result: status }, // (tt_tensor a, const int64* shape, int64 ndim, tt_tensor* out)
  tt_repeat: { parameters: ["pointer", "buffer", "i64", "buffer"], result: status }, // (tt_tensor a, const int64* reps, int64 ndim, tt_tensor* out)
  tt_flip: { parameters: ["pointer", "buffer", "i64", "buffer"], result: status }, // (tt_tensor a, const int64* dims, int64 ndim, tt_tensor* out)
  tt_cat: { parameters: ["buffer", "i64", "i64", "buffer"], result: status }, // (const tt_tensor* ts, int64 n, int64 dim, tt_tensor* out)
  tt_stack: { parameters: ["buffer", "i64", "i64", "buffer"], result: status }, // (const tt_tensor* ts, int64 n, int64 dim, tt_tensor* out)
  tt_chunk: {
    // (tt_tensor a, int64 chunks, int64 dim, tt_tensor* outs, int64 cap, int64* count)
    parameters: ["pointer", "i64", "i64", "buffer", "i64", "buffer"],
    result: status,
  },
  tt_split: {
    // (tt_tensor a, const int64* sizes, int64 nsizes, int64 dim, tt_tensor* outs, int64 cap,
    //  int64* count)
    parameters: ["pointer", "buffer", "i64", "i64", "buffer", "i64", "buffer"],
    result: status,
  },

  // ---- math ----
  tt_unary: { parameters: ["i32", "pointer", "buffer"], result: status }, // (int32 op, tt_tensor a, tt_tensor* out)
  tt_binary: { parameters: ["i32", "pointer", "pointer", "f64", "buffer"], result: status }, // (int32 op, tt_tensor a, tt_tensor b, double alpha, tt_tensor* out)
  tt_binary_scalar: { parameters: ["i32", "pointer", "f64", "buffer"], result: status }, // (int32 op, tt_tensor a, double s, tt_tensor* out)
  tt_inplace: { parameters: ["i32", "pointer", "pointer", "f64"], result: status }, // (int32 op, tt_tensor a, tt_tensor b (nullable), double s)
  tt_clamp: {
    // (tt_tensor a, double lo, double hi, int32 has_lo, int32 has_hi, tt_tensor* out)
    parameters: ["pointer", "f64", "f64", "i32", "i32", "buffer"],
    result: status,
  },
  tt_matmul: { parameters: ["pointer", "pointer", "buffer"], result: status }, // (tt_tensor a, tt_tensor b, tt_tensor* out)
  tt_reduce: {
    // (int32 op, tt_tensor a, const int64* dims, int64 ndims, int32 keepdim, double correction,
    //  tt_tensor* out)
    parameters: ["i32", "pointer", "buffer", "i64", "i32", "f64", "buffer"],
    result: status,
  },
  tt_argmax: {
    // (tt_tensor a, int64 dim, int32 has_dim, int32 keepdim, int32 is_min, tt_tensor* out)
    parameters: ["pointer", "i64", "i32", "i32", "i32", "buffer"],
    result: status,
  },
  tt_topk: {
    // (tt_tensor a, int64 k, int64 dim, int32 largest, int32 sorted, tt_tensor* values,
    //  tt_tensor* indices)
    parameters: ["pointer", "i64", "i64", "i32", "i32", "buffer", "buffer"],
    result: status,
  },
  tt_norm: {
    // (tt_tensor a, double p, const int64* dims, int64 ndims, int32 keepdim, tt_tensor* out)
    parameters: ["pointer", "f64", "buffer", "i64", "i32", "buffer"],
    result: status,
  },
  tt_normalize: { parameters: ["pointer", "f64", "i64", "f64", "buffer"], result: status }, // (tt_tensor a, double p, int64 dim, double eps, tt_tensor* out)
  tt_softmax: { parameters: ["pointer", "i64", "i32", "buffer"], result: status }, // (tt_tensor a, int64 dim, int32 log, tt_tensor* out)
  tt_where: { parameters: ["pointer", "pointer", "pointer", "buffer"], result: status }, // (tt_tensor cond, tt_tensor a, tt_tensor b, tt_tensor* out)
  tt_masked_fill: { parameters: ["pointer", "pointer", "f64", "buffer"], result: status }, // (tt_tensor a, tt_tensor mask, double value, tt_tensor* out)
  tt_lerp: { parameters: ["pointer", "pointer", "pointer", "buffer"], result: status }, // (tt_tensor a, tt_tensor b, tt_tensor weight, tt_tensor* out)
  tt_one_hot: { parameters: ["pointer", "i64", "buffer"], result: status }, // (tt_tensor a, int64 num_classes, tt_tensor* out)
  tt_cumsum: { parameters: ["pointer", "i64", "buffer"], result: status }, // (tt_tensor a, int64 dim, tt_tensor* out)
  tt_sort: {
    // (tt_tensor a, int64 dim, int32 descending, tt_tensor* values, tt_tensor* indices)
    parameters: ["pointer", "i64", "i32", "buffer", "buffer"],
    result: status,
  },

  // ---- fused list ops ----
  tt_lerp_list: { parameters: ["buffer", "buffer", "i64", "f64"], result: status }, // (const tt_tensor* dst, const tt_tensor* src, int64 n, double weight)
  tt_copy_list: { parameters: ["buffer", "buffer", "i64"], result: status }, // (const tt_tensor* dst, const tt_tensor* src, int64 n)
  tt_zero_grad_list: { parameters: ["buffer", "i64", "i32"], result: status }, // (const tt_tensor* ts, int64 n, int32 set_to_none)
  tt_lerp_list_tensor: { parameters: ["buffer", "buffer", "i64", "pointer"], result: status }, // (const tt_tensor* dst, const tt_tensor* src, int64 n, tt_tensor weight)
  tt_fill_scalars: { parameters: ["buffer", "buffer", "i64"], result: status }, // (const tt_tensor* ts, const double* values, int64 n)
  tt_read_scalars: { parameters: ["buffer", "buffer", "i64"], result: status }, // (const tt_tensor* ts, double* out, int64 n)

  // ---- nn functional ----
  tt_linear: { parameters: ["pointer", "pointer", "pointer", "buffer"], result: status }, // (tt_tensor x, tt_tensor w, tt_tensor b (nullable), tt_tensor* out)
  tt_conv2d: {
    // (tt_tensor x, tt_tensor w, tt_tensor b (nullable), const int64* stride[2],
    //  const int64* padding[2], const int64* dilation[2], int64 groups, tt_tensor* out)
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer", "buffer", "i64", "buffer"],
    result: status,
  },
  tt_batch_norm: {
    // (tt_tensor x, tt_tensor w, tt_tensor b, tt_tensor running_mean, tt_tensor running_var,
    //  tt_tensor num_batches_tracked (all nullable but x), int32 training, double momentum,
    //  double eps, tt_tensor* out)
    parameters: [
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "i32",
      "f64",
      "f64",
      "buffer",
    ],
    result: status,
  },
  tt_max_pool2d: {
    // (tt_tensor x, const int64* kernel[2], const int64* stride[2], const int64* padding[2],
    //  int32 ceil_mode, tt_tensor* out)
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32", "buffer"],
    result: status,
  },
  tt_avg_pool2d: {
    // (tt_tensor x, const int64* kernel[2], const int64* stride[2], const int64* padding[2],
    //  tt_tensor* out)
    parameters: ["pointer", "buffer", "buffer", "buffer", "buffer"],
    result: status,
  },
  tt_adaptive_avg_pool2d: { parameters: ["pointer", "i64", "i64", "buffer"], result: status }, // (tt_tensor x, int64 oh, int64 ow, tt_tensor* out)
  tt_cross_entropy: {
    // (tt_tensor logits, tt_tensor target, int32 reduction, double label_smoothing,
    //  tt_tensor* out)
    parameters: ["pointer", "pointer", "i32", "f64", "buffer"],
    result: status,
  },
  tt_affine_grid: { parameters: ["pointer", "buffer", "i64", "i32", "buffer"], result: status }, // (tt_tensor theta, const int64* size, int64 ndim, int32 align_corners, tt_tensor* out)
  tt_grid_sample: {
    // (tt_tensor x, tt_tensor grid, int32 mode, int32 padding_mode, int32 align_corners,
    //  tt_tensor* out)
    parameters: ["pointer", "pointer", "i32", "i32", "i32", "buffer"],
    result: status,
  },
  tt_interpolate: {
    // (tt_tensor x, int64 oh, int64 ow, int32 mode, int32 align_corners, int32 antialias,
    //  tt_tensor* out)
    parameters: ["pointer", "i64", "i64", "i32", "i32", "i32", "buffer"],
    result: status,
  },
  tt_pad: {
    // (tt_tensor x, const int64* pads, int64 npads, int32 mode, double value, tt_tensor* out)
    parameters: ["pointer", "buffer", "i64", "i32", "f64", "buffer"],
    result: status,
  },

  // ---- autograd ----
  tt_set_requires_grad: { parameters: ["pointer", "i32"], result: status }, // (tt_tensor a, int32 flag)
  tt_backward: { parameters: ["pointer", "pointer", "i32"], result: status }, // (tt_tensor a, tt_tensor grad (nullable), int32 retain_graph)
  tt_grad: { parameters: ["pointer", "buffer"], result: status }, // (tt_tensor a, tt_tensor* out (null when none))
  tt_set_grad: { parameters: ["pointer", "pointer"], result: status }, // (tt_tensor a, tt_tensor g (nullable))
  tt_grad_mode: { parameters: ["i32", "buffer"], result: status }, // (int32 enabled (-1 query), int32* prev)
  tt_inference_mode: { parameters: ["i32"], result: status }, // (int32 enter)

  // ---- optimizers ----
  tt_sgd_step: {
    // (const tt_tensor* params, const tt_tensor* bufs, uint8* inited, int64 n, double lr,
    //  double momentum, double dampening, double weight_decay, int32 nesterov)
    parameters: ["buffer", "buffer", "buffer", "i64", "f64", "f64", "f64", "f64", "i32"],
    result: status,
  },
  tt_adamw_step: {
    // (const tt_tensor* params, const tt_tensor* exp_avg, const tt_tensor* exp_avg_sq,
    //  int64* steps, int64 n, double lr, double beta1, double beta2, double eps,
    //  double weight_decay)
    parameters: [
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "i64",
      "f64",
      "f64",
      "f64",
      "f64",
      "f64",
    ],
    result: status,
  },
  tt_lars_step: {
    // (const tt_tensor* params, const tt_tensor* bufs, const uint8* exclude, int64 n,
    //  double lr, double momentum, double weight_decay, double trust_coefficient,
    //  int32 nesterov)
    parameters: ["buffer", "buffer", "buffer", "i64", "f64", "f64", "f64", "f64", "i32"],
    result: status,
  },
  tt_sgd_step_capturable: {
    // (const tt_tensor* params, const tt_tensor* bufs, uint8* inited, int64 n, tt_tensor lr,
    //  double momentum, double dampening, double weight_decay, int32 nesterov)
    parameters: ["buffer", "buffer", "buffer", "i64", "pointer", "f64", "f64", "f64", "i32"],
    result: status,
  },
  tt_adamw_step_capturable: {
    // (const tt_tensor* params, const tt_tensor* exp_avg, const tt_tensor* exp_avg_sq,
    //  const tt_tensor* steps, int64 n, tt_tensor lr, double beta1, double beta2, double eps,
    //  double weight_decay)
    parameters: [
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "i64",
      "pointer",
      "f64",
      "f64",
      "f64",
      "f64",
    ],
    result: status,
  },
  tt_lars_step_capturable: {
    // (const tt_tensor* params, const tt_tensor* bufs, const uint8* exclude, int64 n,
    //  tt_tensor lr, double momentum, double weight_decay, double trust_coefficient,
    //  int32 nesterov)
    parameters: ["buffer", "buffer", "buffer", "i64", "pointer", "f64", "f64", "f64", "i32"],
    result: status,
  },

  // ---- augmentation ----
  tt_color_jitter_cpu: {
    // (tt_tensor x, tt_tensor factors, tt_tensor order, tt_tensor gray (nullable), tt_tensor* out)
    parameters: ["pointer", "pointer", "pointer", "pointer", "buffer"],
    result: status,
  },
  tt_resized_crop_cpu: {
    // (tt_tensor x, tt_tensor boxes, tt_tensor flip (nullable), int64 out_h, int64 out_w,
    //  tt_tensor* out)
    parameters: ["pointer", "pointer", "pointer", "i64", "i64", "buffer"],
    result: status,
  },
  tt_solarize_normalize_cpu: {
    // (tt_tensor x, tt_tensor mask (nullable), double threshold, const double* mean,
    //  const double* std, int64 nchan, tt_tensor* out)
    parameters: ["pointer", "pointer", "f64", "buffer", "buffer", "i64", "buffer"],
    result: status,
  },

  // ---- runtime ----
  tt_manual_seed: { parameters: ["u64"], result: status }, // (uint64 seed)
  tt_set_num_threads: { parameters: ["i32"], result: status }, // (int32 n)
  tt_get_num_threads: { parameters: ["buffer"], result: status }, // (int32* out)
  tt_cpu_memory_caching: { parameters: ["i32", "buffer"], result: status }, // (int32 on, int32* applied)
  tt_cpu_cache_stats: { parameters: ["buffer"], result: status }, // (int64* out)
  tt_cpu_empty_cache: { parameters: [], result: status }, // (void)
  tt_cuda_is_available: { parameters: ["buffer"], result: status }, // (int32* out)
  tt_cuda_device_count: { parameters: ["buffer"], result: status }, // (int32* out)
  tt_cuda_synchronize: { parameters: ["i32"], result: status }, // (int32 device)
  tt_set_cudnn_benchmark: { parameters: ["i32"], result: status }, // (int32 flag)
  tt_set_deterministic: { parameters: ["i32"], result: status }, // (int32 on)
  tt_deterministic_state: { parameters: ["buffer"], result: status }, // (int32* out)
  tt_set_float32_matmul_precision: { parameters: ["i32"], result: status }, // (int32 mode)
  tt_float32_matmul_precision: { parameters: ["buffer"], result: status }, // (int32* out)
  tt_set_cudnn_allow_tf32: { parameters: ["i32"], result: status }, // (int32 on)
  tt_cudnn_allow_tf32: { parameters: ["buffer"], result: status }, // (int32* out)
  tt_ffi_calls: { parameters: ["buffer"], result: status }, // (int64* out)
  tt_rng_get_state: { parameters: ["i32", "buffer"], result: status }, // (int32 device, tt_tensor* out)
  tt_rng_set_state: { parameters: ["i32", "pointer"], result: status }, // (int32 device, tt_tensor state)
  tt_autocast_enter: { parameters: ["i32", "i32", "buffer"], result: status }, // (int32 device_type, int32 dtype, int32* prev)
  tt_autocast_exit: { parameters: ["i32", "buffer"], result: status }, // (int32 device_type, const int32* prev)
  tt_autocast_enabled: { parameters: ["i32", "buffer"], result: status }, // (int32 device_type, int32* out)
  tt_cuda_bf16_supported: { parameters: ["i32", "buffer"], result: status }, // (int32 device, int32* out)
  tt_torch_version: { parameters: [], result: "pointer" }, // const char* (void)
  tt_compiled_with_cuda: { parameters: [], result: "i32" }, // int32 (void)

  // ---- generators ----
  tt_generator_new: { parameters: ["i32", "u64", "buffer"], result: status }, // (int32 device, uint64 seed, tt_generator* out)
  tt_generator_free: { parameters: ["pointer"], result: status }, // (tt_generator g)
  tt_generator_get_state: { parameters: ["pointer", "buffer"], result: status }, // (tt_generator g, tt_tensor* out)
  tt_generator_set_state: { parameters: ["pointer", "pointer"], result: status }, // (tt_generator g, tt_tensor state)
  tt_rand_gen: {
    // (int32 kind, tt_generator g (nullable), const int64* shape, int64 ndim, int32 dtype,
    //  int32 device, tt_tensor* out)
    parameters: ["i32", "pointer", "buffer", "i64", "i32", "i32", "buffer"],
    result: status,
  },
  // ---- memory-mapped files (native/mapped_file.cpp) ----
  tt_map_file: {
    // (const char* path, int64 offset, const int64* shape, int64 ndim, tt_tensor* out)
    parameters: ["buffer", "i64", "buffer", "i64", "buffer"],
    result: status,
  },
  tt_advise_rows: { parameters: ["pointer", "buffer", "i64", "i32"], result: status }, // (tt_tensor t, const int64* rows (nullable), int64 n, int32 advice)
  tt_disk_available: { parameters: ["buffer", "buffer"], result: status }, // (const char* path, int64* out)
  tt_data_ptr: { parameters: ["pointer", "buffer"], result: status }, // (tt_tensor t, void** out)
  // ---- host-to-device transfer (native/transfer.cpp) ----
  tt_pin_memory: { parameters: ["pointer", "buffer"], result: status }, // (tt_tensor t, tt_tensor* out)
  tt_is_pinned: { parameters: ["pointer", "buffer"], result: status }, // (tt_tensor t, int32* out)
  tt_index_select_out: {
    // (tt_tensor src, int64 dim, tt_tensor index, tt_tensor out)
    parameters: ["pointer", "i64", "pointer", "pointer"],
    result: status,
  },
  tt_copy_non_blocking: { parameters: ["pointer", "pointer"], result: status }, // (tt_tensor dst, tt_tensor src)
  tt_cuda_event_new: { parameters: ["i32", "buffer"], result: status }, // (int32 device, tt_cuda_event* out)
  tt_cuda_event_record: { parameters: ["pointer"], result: status }, // (tt_cuda_event ev)
  tt_cuda_event_wait: { parameters: ["pointer"], result: status }, // (tt_cuda_event ev)
  tt_cuda_event_synchronize: { parameters: ["pointer"], result: status }, // (tt_cuda_event ev)
  tt_cuda_event_query: { parameters: ["pointer", "buffer"], result: status }, // (tt_cuda_event ev, int32* done)
  tt_cuda_event_free: { parameters: ["pointer"], result: status }, // (tt_cuda_event ev)
  tt_cuda_copy_stream_begin: { parameters: ["i32"], result: status }, // (int32 device)
  tt_cuda_copy_stream_end: { parameters: ["i32"], result: status }, // (int32 device)
  // ---- CUDA graphs (native/cuda_graph.cpp) ----
  tt_cuda_graphs_available: { parameters: ["buffer"], result: status }, // (int32* out)
  tt_cuda_graph_new: { parameters: ["buffer"], result: status }, // (tt_cuda_graph* out)
  tt_cuda_graph_free: { parameters: ["pointer"], result: status }, // (tt_cuda_graph g)
  tt_cuda_graph_register_generator: { parameters: ["pointer", "pointer"], result: status }, // (tt_cuda_graph g, tt_generator gen)
  tt_cuda_graph_capture_begin: { parameters: ["pointer", "i32"], result: status }, // (tt_cuda_graph g, int32 device)
  tt_cuda_graph_capture_end: { parameters: ["pointer"], result: status }, // (tt_cuda_graph g)
  tt_cuda_graph_replay: { parameters: ["pointer"], result: status }, // (tt_cuda_graph g)
  tt_cuda_graph_reset: { parameters: ["pointer"], result: status }, // (tt_cuda_graph g)
  tt_cuda_side_stream_begin: { parameters: ["i32"], result: status }, // (int32 device)
  tt_cuda_side_stream_end: { parameters: ["i32"], result: status }, // (int32 device)
  tt_cuda_mem_get_info: { parameters: ["i32", "buffer", "buffer"], result: status }, // (int32 device, int64* free, int64* total)
  // ---- distributed (native/distributed.cpp) ----
  tt_dist_has_gloo: { parameters: [], result: "i32" }, // int32 (void)
  tt_store_new: {
    // (const char* host, int32 port, int32 is_server, int32 world_size, int64 timeout_ms,
    //  const char* prefix, tt_store* out)
    parameters: ["buffer", "i32", "i32", "i32", "i64", "buffer", "buffer"],
    result: status,
  },
  tt_store_free: { parameters: ["pointer"], result: status }, // (tt_store s)
  tt_pg_new: {
    // (tt_store store, int32 rank, int32 world_size, const char* backend, int64 timeout_ms,
    //  tt_pg* out)
    parameters: ["pointer", "i32", "i32", "buffer", "i64", "buffer"],
    result: status,
  },
  tt_pg_free: { parameters: ["pointer"], result: status }, // (tt_pg pg)
  tt_pg_all_reduce: { parameters: ["pointer", "pointer", "i32"], result: status }, // (tt_pg pg, tt_tensor t, int32 op)
  tt_pg_broadcast: { parameters: ["pointer", "pointer", "i32"], result: status }, // (tt_pg pg, tt_tensor t, int32 src)
  tt_pg_all_gather: { parameters: ["pointer", "pointer", "buffer", "i64"], result: status }, // (tt_pg pg, tt_tensor t, tt_tensor* outs, int64 cap)
  tt_pg_barrier: { parameters: ["pointer"], result: status }, // (tt_pg pg)
  tt_pg_all_reduce_buckets: {
    // (tt_pg pg, const tt_tensor* ts, int64 n, int64 bucket_bytes, int32 average,
    //  int64* nbuckets)
    parameters: ["pointer", "buffer", "i64", "i64", "i32", "buffer"],
    result: status,
  },
  tt_dist_has_nccl: { parameters: [], result: "i32" }, // (void)
  tt_pg_all_reduce_autograd: { parameters: ["pointer", "pointer", "buffer"], result: status }, // (tt_pg pg, tt_tensor t, tt_tensor* out)
  tt_grad_buckets_new: {
    // (const tt_tensor* params, int64 n, int64 bucket_bytes, tt_grad_buckets* out,
    //  int64* nbuckets)
    parameters: ["buffer", "i64", "i64", "buffer", "buffer"],
    result: status,
  },
  tt_grad_buckets_free: { parameters: ["pointer"], result: status }, // (tt_grad_buckets b)
  tt_grad_buckets_bind: {
    // (tt_grad_buckets b, int64* missing, int64 cap, int64* nmissing)
    parameters: ["pointer", "buffer", "i64", "buffer"],
    result: status,
  },
  tt_grad_buckets_arm: { parameters: ["pointer", "pointer"], result: status }, // (tt_pg pg, tt_grad_buckets b)
  tt_grad_buckets_set_hooks: { parameters: ["pointer", "i32"], result: status }, // (tt_grad_buckets b, int32 on)
  tt_grad_buckets_launch: { parameters: ["pointer", "pointer"], result: status }, // (tt_pg pg, tt_grad_buckets b)
  tt_grad_buckets_finish: { parameters: ["pointer", "i32", "buffer"], result: status }, // (tt_grad_buckets b, int32 average, int64* early)
} as const satisfies Deno.ForeignLibraryInterface;

export type Symbols = typeof symbols;
