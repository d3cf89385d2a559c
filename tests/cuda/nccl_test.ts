// NCCL process groups: skipped (ignored) where no GPU is visible or the shim
// has no NCCL; run by scripts/gpu_check.sh. World 1 (one GPU): every
// collective on CUDA tensors, the differentiable all-reduce SyncBatchNorm uses,
// DDP over a CUDA module, and the refusals that name the device.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { cuda, distributed as dist, nn, randn, tensor } from "../../mod.ts";
import { TorchError } from "../../ffi/error.ts";
import { freePort } from "../distributed/_ranks.ts";

const ignore = !(cuda.isAvailable() && dist.isNcclAvailable());

Deno.test({ name: "NCCL: world 1, every collective on CUDA tensors", ignore }, () => {
  dist.initProcessGroup({
    backend: "nccl",
    initMethod: `tcp://127.0.0.1:${freePort()}`,
    rank: 0,
    worldSize: 1,
    timeoutMs: 60_000,
  });
  try {
    assertEquals(dist.getBackend(), "nccl");
    const values = [1.5, -2, 3.25, 8];
    const t = tensor(Float32Array.from(values)).to("cuda");
    dist.allReduce(t);
    assertEquals(t.cpu().toArray(), values, "sum over one rank");
    dist.allReduce(t, { op: "avg" });
    assertEquals(t.cpu().toArray(), values, "average over one rank");
    dist.allReduce(t, { op: "max" });
    dist.broadcast(t, { src: 0 });
    const all = dist.allGather(t);
    assertEquals(all.length, 1);
    assertEquals(all[0].device, "cuda:0");
    assertEquals(all[0].cpu().toArray(), values);
    dist.barrier();

    // The differentiable all-reduce (SyncBatchNorm's statistics): identity
    // over one rank, forward and backward.
    const x = tensor(Float64Array.from(values)).to("cuda").requiresGrad_();
    const y = dist.allReduceWithGrad(x);
    y.mul(2).sum().backward();
    assertEquals(y.cpu().toArray(), values);
    assertEquals(x.grad!.cpu().toArray(), [2, 2, 2, 2]);

    // DDP over a CUDA module in an NCCL group: its own collectives (the
    // model check) run on the GPU; alone, syncGradients leaves the gradients.
    const m = new nn.Linear(4, 3);
    m.to("cuda");
    const ddp = new dist.DistributedDataParallel(m);
    m.forward(randn([5, 4]).to("cuda")).sum().backward();
    using before = m.parameters()[0].grad!.cpu();
    assertEquals(ddp.syncGradients(), 0);
    assertEquals(m.parameters()[0].grad!.cpu().toArray(), before.toArray());
    ddp.dispose();

    // A CPU tensor in an NCCL group is named, with the fix.
    assertThrows(
      () => dist.allReduce(tensor(Float32Array.from(values))),
      TorchError,
      "NCCL takes CUDA tensors",
    );
  } finally {
    dist.destroyProcessGroup();
  }
});

Deno.test({ name: "NCCL: a Gloo group refuses CUDA tensors and says to use nccl", ignore }, () => {
  dist.initProcessGroup({
    backend: "gloo",
    initMethod: `tcp://127.0.0.1:${freePort()}`,
    rank: 0,
    worldSize: 1,
    timeoutMs: 20_000,
  });
  try {
    const err = assertThrows(
      () => dist.allReduce(tensor(Float32Array.from([1, 2])).to("cuda")),
      TorchError,
      "Gloo takes CPU tensors",
    );
    assert(err.message.includes('backend "nccl"'), err.message);
  } finally {
    dist.destroyProcessGroup();
  }
});
