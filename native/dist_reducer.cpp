// DistributedDataParallel's reducer: persistent gradient buckets, launched
// from backward's gradient hooks and finished by syncGradients.
#include "dist_common.h"

#ifdef TT_WITH_C10D

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <algorithm>
#include <memory>
#include <mutex>

using namespace tt;
using namespace tt::dist;

namespace {

// DistributedDataParallel's gradient buckets (PyTorch DDP's
// gradient_as_bucket_view): flat storage per bucket, and for each parameter a
// slot in it with the parameter's shape and strides. Once a gradient is its
// slot, backward accumulates into the bucket in place and the all-reduce needs
// no copy in or out.
//
// Buckets follow the parameters in reverse (backward makes the last layers'
// gradients first) and the first is capped at 1 MB, as PyTorch DDP's: armed
// (tt_grad_buckets_arm), a hook on each parameter's gradient accumulator
// marks it ready during backward and launches every bucket whose gradients
// are all ready, in bucket order (every rank issues the same collectives in
// the same order), so the all-reduce runs while backward goes on. What
// backward did not launch, tt_grad_buckets_launch launches; finish waits.
struct GradBuckets {
  std::vector<at::Tensor> params;
  std::vector<at::Tensor> slots;    // one per parameter, a view of its bucket
  std::vector<at::Tensor> buckets;  // flat, one dtype each, in launch order
  std::vector<size_t> bucket_of;    // per parameter
  std::vector<int64_t> sizes;       // parameters per bucket
  std::mutex mu;                    // hooks may run on autograd's device threads
  size_t next = 0;                  // buckets launched this iteration
  int64_t early = 0;                // of them, launched by the hooks
  int64_t last_early = 0;           // `early` of the last finished iteration
  std::vector<c10::intrusive_ptr<c10d::Work>> works;  // per launched bucket
  std::unique_ptr<PgBox> group;     // the group of this iteration's launches
  bool armed = false;               // hooks registered (they launch on `group`)
  bool hooks_on = true;             // off inside DDP's noSync()
  std::vector<int64_t> pending;     // per bucket: gradients not yet ready
  std::vector<char> ready;          // per parameter
  std::string error;                // the first failure seen by a hook
  std::vector<decltype(torch::autograd::impl::grad_accumulator(std::declval<const at::Tensor&>()))>
      accumulators;                 // kept alive, as the Reducer does: hooks live on them
  std::vector<uintptr_t> hook_keys;
};

struct GradBucketsBox {
  std::shared_ptr<GradBuckets> p;
};

GradBuckets& B(tt_grad_buckets h) {
  if (h == nullptr) throw std::invalid_argument("null gradient buckets handle (were they freed?)");
  return *reinterpret_cast<GradBucketsBox*>(h)->p;
}

bool is_slot(const at::Tensor& g, const at::Tensor& slot) {
  return g.defined() && g.data_ptr() == slot.data_ptr() && g.sizes().equals(slot.sizes()) &&
         g.strides().equals(slot.strides()) && g.scalar_type() == slot.scalar_type();
}

// Makes parameter i's gradient its slot (copying a fresh one in); false when
// it has none. Called with no gradient recording.
bool bind_one(GradBuckets& box, size_t i) {
  auto& p = box.params[i];
  const at::Tensor& g = p.grad();
  if (!g.defined()) return false;
  if (is_slot(g, box.slots[i])) return true;  // backward accumulated into the bucket
  if (!g.sizes().equals(p.sizes()) || g.scalar_type() != p.scalar_type() ||
      g.device() != p.device()) {
    throw std::invalid_argument("gradient buckets: parameter " + std::to_string(i) +
                                "'s gradient does not match it in shape, dtype or device");
  }
  // A fresh gradient (zero_grad set it to None): into the slot, which
  // becomes the gradient for the next backward to accumulate into.
  box.slots[i].copy_(g);
  p.mutable_grad() = box.slots[i];
  return true;
}

const char* const kGradOp = "all_reduce (gradient buckets)";

// Launches bucket box.next (sum); the caller holds box.mu.
void launch_next(GradBuckets& box, const PgBox& g) {
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::SUM;
  o.timeout = g.timeout;
  std::vector<at::Tensor> one{box.buckets[box.next]};
  try {
    box.works.push_back(g.pg->allreduce(one, o));
  } catch (...) {
    throw std::runtime_error(where(g, kGradOp) + ": " + current_message());
  }
  box.next++;
}

// The hook of parameter i, after backward accumulated its gradient.
void on_grad_ready(GradBuckets& box, size_t i) {
  std::lock_guard<std::mutex> lock(box.mu);
  if (!box.armed || !box.hooks_on || !box.error.empty()) return;
  try {
    if (box.ready[i]) {
      throw std::runtime_error(
          "parameter " + std::to_string(i) + "'s gradient was made twice before syncGradients() "
          "(two backward passes): call syncGradients() after each backward, or run the extra "
          "backward passes inside noSync()");
    }
    at::NoGradGuard no_grad;
    if (!bind_one(box, i)) return;
    box.ready[i] = 1;
    if (--box.pending[box.bucket_of[i]] > 0) return;
    while (box.next < box.buckets.size() && box.pending[box.next] == 0) {
      launch_next(box, *box.group);
      box.early++;
    }
  } catch (...) {
    // Reported by syncGradients (after it drained what is in flight), not
    // thrown into autograd's engine halfway through backward.
    box.error = current_message();
  }
}

// Launches every bucket the hooks did not, in bucket order (on `g` unless armed).
void launch_rest(const PgBox& g, GradBuckets& box) {
  std::lock_guard<std::mutex> lock(box.mu);
  if (!box.armed) {
    for (auto& f : box.buckets) check_tensor(g, kGradOp, f);
    box.group = std::make_unique<PgBox>(g);
  }
  while (box.next < box.buckets.size()) launch_next(box, *box.group);
}

void disarm(GradBuckets& box) {
  for (size_t i = 0; i < box.accumulators.size(); i++) {
    if (box.accumulators[i]) box.accumulators[i]->del_post_hook(box.hook_keys[i]);
  }
  box.accumulators.clear();
  box.hook_keys.clear();
  box.armed = false;
}

// Waits for every launched bucket (all of them, even after a failure, so none
// still writes), divides each by the world size when `average`, and starts the
// next iteration. Throws the first failure, a hook's included.
void finish(GradBuckets& box, bool average) {
  std::string error;
  {
    std::lock_guard<std::mutex> lock(box.mu);
    error = box.error;
  }
  const PgBox* g = box.group.get();
  for (size_t k = 0; k < box.works.size(); k++) {
    try {
      if (g != nullptr) wait_work(*g, kGradOp, box.works[k]);
      else box.works[k]->wait();
    } catch (const std::exception& e) {
      if (error.empty()) error = e.what();
    }
    // Each bucket is divided as soon as it is done, while later ones may
    // still be in flight.
    if (average && error.empty() && g != nullptr) box.buckets[k].div_(g->size);
  }
  std::lock_guard<std::mutex> lock(box.mu);
  box.works.clear();
  box.last_early = box.early;
  box.early = 0;
  box.next = 0;
  box.pending = box.sizes;
  std::fill(box.ready.begin(), box.ready.end(), 0);
  box.error.clear();
  if (!error.empty()) throw std::runtime_error(error);
}

}  // namespace

extern "C" {

int32_t tt_grad_buckets_new(const tt_tensor* params, int64_t n, int64_t bucket_bytes,
                            tt_grad_buckets* out, int64_t* nbuckets) {
  PROTECT({
    if (bucket_bytes < 1) throw std::invalid_argument("gradient buckets: bucket size must be >= 1 byte");
    if (out == nullptr) throw std::invalid_argument("null out-pointer");
    auto box = std::make_shared<GradBuckets>();
    box->params = list(params, n);
    for (auto& p : box->params) {
      if (!p.defined()) throw std::invalid_argument("gradient buckets: undefined parameter");
      if (p.layout() != at::kStrided) {
        throw std::invalid_argument("gradient buckets: sparse parameters are not supported");
      }
    }
    box->slots.resize(box->params.size());
    box->bucket_of.resize(box->params.size());
    std::vector<size_t> reverse = in_order(box->params.size());
    std::reverse(reverse.begin(), reverse.end());
    // PyTorch DDP's first bucket: 1 MB (dist._DEFAULT_FIRST_BUCKET_BYTES).
    const int64_t first = std::min<int64_t>(bucket_bytes, 1 << 20);
    for (auto& bucket : plan_buckets(box->params, reverse, bucket_bytes, first)) {
      int64_t numel = 0;
      for (size_t i : bucket) numel += box->params[i].numel();
      at::Tensor flat = at::zeros({numel}, box->params[bucket.front()].options());
      int64_t offset = 0;
      for (size_t i : bucket) {
        const auto& p = box->params[i];
        at::Tensor part = flat.narrow(0, offset, p.numel());
        // The parameter's own strides where they cover its elements exactly
        // (channels-last weights included), as the gradient backward makes.
        box->slots[i] = p.is_non_overlapping_and_dense()
                            ? part.as_strided(p.sizes(), p.strides())
                            : part.view(p.sizes());
        box->bucket_of[i] = box->buckets.size();
        offset += p.numel();
      }
      box->sizes.push_back(static_cast<int64_t>(bucket.size()));
      box->buckets.push_back(flat);
    }
    box->pending = box->sizes;
    box->ready.assign(box->params.size(), 0);
    if (nbuckets != nullptr) *nbuckets = static_cast<int64_t>(box->buckets.size());
    *out = reinterpret_cast<tt_grad_buckets>(new GradBucketsBox{box});
  })
}

int32_t tt_grad_buckets_free(tt_grad_buckets b) {
  PROTECT({
    auto* h = reinterpret_cast<GradBucketsBox*>(b);
    if (h == nullptr) return 0;
    {
      std::lock_guard<std::mutex> lock(h->p->mu);
      disarm(*h->p);
    }
    // What is still in flight holds its bucket (the Work keeps the tensor).
    delete h;
  })
}

int32_t tt_grad_buckets_bind(tt_grad_buckets b, int64_t* missing, int64_t cap,
                             int64_t* nmissing) {
  PROTECT({
    auto& box = B(b);
    if (nmissing == nullptr) throw std::invalid_argument("null out-pointer");
    at::NoGradGuard no_grad;
    std::lock_guard<std::mutex> lock(box.mu);
    int64_t count = 0;
    for (size_t i = 0; i < box.params.size(); i++) {
      if (bind_one(box, i)) continue;
      if (missing != nullptr && count < cap) missing[count] = static_cast<int64_t>(i);
      count++;
    }
    *nmissing = count;
  })
}

int32_t tt_grad_buckets_arm(tt_pg pg, tt_grad_buckets b) {
  PROTECT({
    auto& g = P(pg);
    auto& box = B(b);
    std::shared_ptr<GradBuckets> shared = reinterpret_cast<GradBucketsBox*>(b)->p;
    std::lock_guard<std::mutex> lock(box.mu);
    if (box.armed) throw std::invalid_argument("gradient buckets: already armed");
    if (!box.works.empty()) throw std::invalid_argument("gradient buckets: an iteration is in flight");
    for (auto& f : box.buckets) check_tensor(g, kGradOp, f);
    box.group = std::make_unique<PgBox>(g);
    box.armed = true;
    std::weak_ptr<GradBuckets> weak = shared;
    for (size_t i = 0; i < box.params.size(); i++) {
      auto& p = box.params[i];
      // A parameter that takes no gradient has no accumulator: its bucket
      // waits for syncGradients, which names it.
      auto acc = p.requires_grad() && p.is_leaf() ? torch::autograd::impl::grad_accumulator(p)
                                                  : nullptr;
      uintptr_t key = 0;
      if (acc) {
        key = acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
            [weak, i](const torch::autograd::variable_list& outputs,
                      const torch::autograd::variable_list&) {
              if (auto box = weak.lock()) on_grad_ready(*box, i);
              return outputs;
            }));
      }
      box.accumulators.push_back(acc);
      box.hook_keys.push_back(key);
    }
  })
}

int32_t tt_grad_buckets_set_hooks(tt_grad_buckets b, int32_t on) {
  PROTECT({
    auto& box = B(b);
    std::lock_guard<std::mutex> lock(box.mu);
    box.hooks_on = on != 0;
  })
}

int32_t tt_grad_buckets_launch(tt_pg pg, tt_grad_buckets b) {
  PROTECT({
    at::NoGradGuard no_grad;
    launch_rest(P(pg), B(b));
  })
}

int32_t tt_grad_buckets_finish(tt_grad_buckets b, int32_t average, int64_t* early) {
  PROTECT({
    auto& box = B(b);
    at::NoGradGuard no_grad;
    finish(box, average != 0);
    if (early != nullptr) *early = box.last_early;
  })
}

}  // extern "C"

#endif  // TT_WITH_C10D
