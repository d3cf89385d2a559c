// Memory that stays flat over a long run (issue 11 item 8). Part one: 1,000
// BYOL steps (tiny convnet, 12 px, batch 8, the augment pipeline, AdamW, the
// EMA target) hold exactly as many tensors at step 1,000 as at step 100, and
// none reach the garbage collector. Part two, the cause that was found: the
// shim's CPU tensor cache (native/cpu_cache.cpp) maps no new block once a
// loop's shapes have been seen, even while GC-owned ArrayBuffers (as a
// checkpoint makes) come and go between its steps. Under the old process-wide
// malloc policy those buffers shared the tensors' heap and it grew by about
// one activation after each checkpoint.
import { assert, assertEquals } from "../helpers/asserts.ts";
import {
  augment,
  BYOL,
  cpuCacheStats,
  finalizedTensorCount,
  Generator,
  liveTensorCount,
  manualSeed,
  nn,
  optim,
  randint,
  randn,
  setCpuMemoryCaching,
  tidy,
} from "../../mod.ts";

Deno.test("1,000 BYOL steps keep the live tensor count exactly flat from step 100", () => {
  manualSeed(0);
  const encoder = nn.convNet({ inChannels: 1, width: 4 });
  const model = new BYOL(encoder, { projectionDim: 16, hiddenDim: 32, tauBase: 0.99 });
  const opt = new optim.AdamW(optim.decayParamGroups(model.namedOnlineParameters()), {
    lr: 1e-3,
    weightDecay: 1e-6,
  });
  const pipeline = augment.makeAugment("fashion-mnist", { size: 12, blurKernel: 0 });
  const gen = new Generator(1);
  const images = randint(0, 256, [8, 1, 12, 12], { dtype: "uint8" });
  const steps = 1000;
  let live100 = -1;
  let fin100 = -1;
  try {
    model.train();
    for (let step = 0; step < steps; step++) {
      tidy(() => {
        const [v1, v2] = pipeline.twoViews(images, gen);
        const loss = model.loss(v1, v2);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        model.updateTarget(step, steps);
        if (step % 100 === 99) assert(Number.isFinite(loss.item()), `loss at step ${step + 1}`);
      });
      if (step + 1 === 100) {
        live100 = liveTensorCount();
        fin100 = finalizedTensorCount();
      } else if (step + 1 > 100) {
        assertEquals(liveTensorCount(), live100, `live tensors after step ${step + 1}`);
      }
    }
    assertEquals(finalizedTensorCount(), fin100, "tensors freed by the GC instead of a scope");
  } finally {
    images.dispose();
    gen.dispose();
    opt.dispose();
    model.dispose();
  }
});

Deno.test("the CPU tensor cache maps nothing new once a loop's shapes are seen, with GC-owned buffers in between", () => {
  assert(setCpuMemoryCaching(true), "the caching allocator is not libtorch's CPU allocator");
  // A step's worth of tensors of 1 MiB and more, in several sizes.
  const step = () =>
    tidy(() => {
      const x = randn([8, 64, 32, 32]); // 2 MiB
      const y = x.relu().mul(x).sum({ dim: 1, keepdim: true }).repeat(1, 96, 1, 1);
      return y.mean().item();
    });
  const gc = (globalThis as { gc?: () => void }).gc;
  let held: Uint8Array[] = [];
  step();
  const before = cpuCacheStats();
  for (let i = 0; i < 60; i++) {
    step();
    // A checkpoint's ArrayBuffers: several MiB each, kept across steps and
    // freed whenever the GC gets to them.
    held.push(new Uint8Array((3 + (i % 5)) << 20).fill(i));
    if (held.length > 3) held = held.slice(1);
    if (i % 7 === 6) gc?.();
  }
  const after = cpuCacheStats();
  assertEquals(after.maps, before.maps, "new blocks mapped after the first pass");
  assertEquals(after.mappedBytes, before.mappedBytes, "CPU tensor cache grew");
  assert(before.mappedBytes >= 2 << 20, `only ${before.mappedBytes} bytes went through the cache`);
  assertEquals(after.liveBlocks, before.liveBlocks, "large blocks left in use between steps");
});
