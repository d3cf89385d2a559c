// The collectives on a process group (all_reduce, broadcast, all_gather,
// barrier, and a bucketed all_reduce of many tensors), the same calls on Gloo
// (CPU tensors) and NCCL (CUDA tensors) through c10d's backend base class.
#include "dist_common.h"

#ifdef TT_WITH_C10D

using namespace tt;
using namespace tt::dist;

namespace {

c10d::ReduceOp reduce_op(int32_t op) {
  switch (op) {
    case TT_RED_SUM:
    case TT_RED_AVG:
      return c10d::ReduceOp::SUM;
    case TT_RED_PRODUCT:
      return c10d::ReduceOp::PRODUCT;
    case TT_RED_MIN:
      return c10d::ReduceOp::MIN;
    case TT_RED_MAX:
      return c10d::ReduceOp::MAX;
    default:
      throw std::invalid_argument("unknown reduce op code " + std::to_string(op));
  }
}

// Sums every flat bucket over the ranks: all launched, then all waited (the
// first failure is reported once every launched op has finished, so none
// still writes); divides each by the world size when `average`.
void all_reduce_flats(const PgBox& g, const char* op, std::vector<at::Tensor>& flats,
                      bool average) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::string error;
  for (auto& flat : flats) {
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = g.timeout;
    std::vector<at::Tensor> one{flat};
    try {
      works.push_back(g.pg->allreduce(one, o));
    } catch (...) {
      error = where(g, op) + ": " + current_message();
      break;
    }
  }
  for (size_t k = 0; k < works.size(); k++) {
    try {
      wait_work(g, op, works[k]);
    } catch (const std::exception& e) {
      if (error.empty()) error = e.what();
    }
    // Each bucket is divided as soon as it is done, while later ones may
    // still be in flight.
    if (average && error.empty()) flats[k].div_(g.size);
  }
  if (!error.empty()) throw std::runtime_error(error);
}

}  // namespace

extern "C" {

int32_t tt_pg_all_reduce(tt_pg pg, tt_tensor t, int32_t op) {
  PROTECT({
    auto& g = P(pg);
    auto& x = T(t);
    at::NoGradGuard no_grad;
    check_tensor(g, "all_reduce", x);
    if (op == TT_RED_AVG) check_average(g, "all_reduce", x);
    c10d::AllreduceOptions o;
    o.reduceOp = reduce_op(op);
    o.timeout = g.timeout;
    std::vector<at::Tensor> ts{x};
    run_collective(g, "all_reduce", [&] { return g.pg->allreduce(ts, o); });
    if (op == TT_RED_AVG) x.div_(g.size);
  })
}

int32_t tt_pg_broadcast(tt_pg pg, tt_tensor t, int32_t src) {
  PROTECT({
    auto& g = P(pg);
    auto& x = T(t);
    at::NoGradGuard no_grad;
    check_tensor(g, "broadcast", x);
    if (src < 0 || src >= g.size) {
      throw std::invalid_argument(where(g, "broadcast") + ": src " + std::to_string(src) +
                                  " is outside 0.." + std::to_string(g.size - 1));
    }
    c10d::BroadcastOptions o;
    o.rootRank = src;
    o.rootTensor = 0;
    o.timeout = g.timeout;
    std::vector<at::Tensor> ts{x};
    run_collective(g, "broadcast", [&] { return g.pg->broadcast(ts, o); });
  })
}

int32_t tt_pg_all_gather(tt_pg pg, tt_tensor t, tt_tensor* outs, int64_t cap) {
  PROTECT({
    auto& g = P(pg);
    auto& x = T(t);
    at::NoGradGuard no_grad;
    check_tensor(g, "all_gather", x);
    if (outs == nullptr || cap < g.size) {
      throw std::invalid_argument(where(g, "all_gather") + ": room for " + std::to_string(cap) +
                                  " results, the world has " + std::to_string(g.size));
    }
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int i = 0; i < g.size; i++) outputs[0].push_back(at::empty_like(x));
    std::vector<at::Tensor> inputs{x};
    c10d::AllgatherOptions o;
    o.timeout = g.timeout;
    run_collective(g, "all_gather", [&] { return g.pg->allgather(outputs, inputs, o); });
    for (int i = 0; i < g.size; i++) outs[i] = wrap(outputs[0][i]);
  })
}

int32_t tt_pg_barrier(tt_pg pg) {
  PROTECT({
    auto& g = P(pg);
    c10d::BarrierOptions o;
    o.timeout = g.timeout;
    run_collective(g, "barrier", [&] { return g.pg->barrier(o); });
  })
}

int32_t tt_pg_all_reduce_buckets(tt_pg pg, const tt_tensor* ts, int64_t n, int64_t bucket_bytes,
                                 int32_t average, int64_t* nbuckets) {
  PROTECT({
    auto& g = P(pg);
    at::NoGradGuard no_grad;
    if (bucket_bytes < 1) throw std::invalid_argument("all_reduce_buckets: bucket size must be >= 1 byte");
    auto tensors = list(ts, n);
    for (auto& x : tensors) {
      // Any dense layout (channels-last gradients included): the buckets are
      // flat copies, written back element for element.
      check_dense(g, "all_reduce_buckets", x);
      if (average) check_average(g, "all_reduce_buckets", x);
    }
    const auto buckets = plan_buckets(tensors, in_order(tensors.size()), bucket_bytes, bucket_bytes);
    std::vector<at::Tensor> flats;
    for (auto& bucket : buckets) {
      std::vector<at::Tensor> parts;
      for (size_t i : bucket) parts.push_back(tensors[i].reshape({-1}));
      flats.push_back(at::cat(parts));
    }
    all_reduce_flats(g, "all_reduce_buckets", flats, average != 0);
    for (size_t b = 0; b < buckets.size(); b++) {
      int64_t offset = 0;
      for (size_t i : buckets[b]) {
        auto& x = tensors[i];
        x.copy_(flats[b].narrow(0, offset, x.numel()).view(x.sizes()));
        offset += x.numel();
      }
    }
    if (nbuckets != nullptr) *nbuckets = static_cast<int64_t>(buckets.size());
  })
}

}  // extern "C"

#endif  // TT_WITH_C10D
