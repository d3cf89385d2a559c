// SyncBatchNorm's one collective: torch.distributed.nn.functional.all_reduce
// (SUM) as a torch::autograd::Function whose forward and backward are both an
// all-reduce sum, behind tt_pg_all_reduce_autograd.
#include "dist_common.h"

#ifdef TT_WITH_C10D

#include <torch/csrc/autograd/custom_function.h>

using namespace tt;
using namespace tt::dist;

namespace {

// The group, kept alive by the autograd graph until its backward ran (the
// capsule holds a reference to the ProcessGroupGloo, so destroying the JS-side
// group before backward does not leave a dangling pointer).
struct PgRef : torch::CustomClassHolder {
  explicit PgRef(PgBox b) : box(std::move(b)) {}
  PgBox box;
};

const char* const kArForward = "all_reduce (SyncBatchNorm statistics, forward)";
const char* const kArBackward = "all_reduce (SyncBatchNorm statistics, backward)";

// torch.distributed.nn.functional.all_reduce(SUM): forward sums a copy of the
// input over the ranks, backward sums the incoming gradient over the ranks
// (the gradient of a sum that every rank consumes). SyncBatchNorm packs its
// per-channel sums and counts through it.
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const PgBox* g) {
    at::Tensor y = x.detach().clone(at::MemoryFormat::Contiguous);
    all_reduce_sum(*g, kArForward, y);
    ctx->saved_data["pg"] = c10::IValue::make_capsule(
        c10::intrusive_ptr<torch::CustomClassHolder>(c10::make_intrusive<PgRef>(*g)));
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto holder = ctx->saved_data["pg"].toCapsule();
    const PgBox& g = static_cast<PgRef*>(holder.get())->box;
    at::Tensor grad = grads[0].defined() ? grads[0].clone(at::MemoryFormat::Contiguous)
                                         : at::Tensor();
    if (grad.defined()) all_reduce_sum(g, kArBackward, grad);
    return {grad, at::Tensor()};
  }
};

}  // namespace

extern "C" {

int32_t tt_pg_all_reduce_autograd(tt_pg pg, tt_tensor t, tt_tensor* out) {
  PROTECT({
    auto& g = P(pg);
    auto& x = T(t);
    if (!x.defined()) throw std::invalid_argument(where(g, kArForward) + ": undefined tensor");
    check_device(g, kArForward, x);
    if (!at::isFloatingType(x.scalar_type())) {
      throw std::invalid_argument(where(g, kArForward) +
                                  ": needs a floating-point tensor (gradients flow through it)");
    }
    put(out, AllReduceSum::apply(x, &g));
  })
}

}  // extern "C"

#endif  // TT_WITH_C10D
