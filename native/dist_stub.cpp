// The distributed half of tt.h in a shim built without any process-group
// backend (no TT_WITH_C10D): every call fails with one line saying what the
// build lacked; freeing a null handle is a no-op. The one stub of the shim.
#include "dist_common.h"

#ifndef TT_WITH_C10D

using tt::dist::kNoBackend;

namespace {
[[noreturn]] void no_backend() { throw std::runtime_error(kNoBackend); }
}  // namespace

extern "C" {

int32_t tt_store_new(const char*, int32_t, int32_t, int32_t, int64_t, const char*, tt_store*) {
  PROTECT(no_backend())
}
int32_t tt_store_free(tt_store) { return 0; }
int32_t tt_pg_new(tt_store, int32_t, int32_t, const char*, int64_t, tt_pg*) {
  PROTECT(no_backend())
}
int32_t tt_pg_free(tt_pg) { return 0; }
int32_t tt_pg_all_reduce(tt_pg, tt_tensor, int32_t) { PROTECT(no_backend()) }
int32_t tt_pg_broadcast(tt_pg, tt_tensor, int32_t) { PROTECT(no_backend()) }
int32_t tt_pg_all_gather(tt_pg, tt_tensor, tt_tensor*, int64_t) { PROTECT(no_backend()) }
int32_t tt_pg_barrier(tt_pg) { PROTECT(no_backend()) }
int32_t tt_pg_all_reduce_buckets(tt_pg, const tt_tensor*, int64_t, int64_t, int32_t, int64_t*) {
  PROTECT(no_backend())
}
int32_t tt_pg_all_reduce_autograd(tt_pg, tt_tensor, tt_tensor*) { PROTECT(no_backend()) }
int32_t tt_grad_buckets_new(const tt_tensor*, int64_t, int64_t, tt_grad_buckets*, int64_t*) {
  PROTECT(no_backend())
}
int32_t tt_grad_buckets_free(tt_grad_buckets) { return 0; }
int32_t tt_grad_buckets_bind(tt_grad_buckets, int64_t*, int64_t, int64_t*) {
  PROTECT(no_backend())
}
int32_t tt_grad_buckets_arm(tt_pg, tt_grad_buckets) { PROTECT(no_backend()) }
int32_t tt_grad_buckets_set_hooks(tt_grad_buckets, int32_t) { PROTECT(no_backend()) }
int32_t tt_grad_buckets_launch(tt_pg, tt_grad_buckets) { PROTECT(no_backend()) }
int32_t tt_grad_buckets_finish(tt_grad_buckets, int32_t, int64_t*) { PROTECT(no_backend()) }

}  // extern "C"

#endif  // !TT_WITH_C10D
