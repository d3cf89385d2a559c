// CUDA graphs (ffi/cuda_graph.ts over native/cuda_graph.cpp). On every machine:
// cudaGraphsAvailable() says what the build recorded, and a shim or machine
// without CUDA graphs refuses a capture with one line naming --cuda-graphs off.
// The rest needs a CUDA device and a shim built with CUDA graphs, and is
// skipped (ignored) elsewhere, as the other tests/cuda files are.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { assertClose } from "../helpers/assert.ts";
import {
  capture,
  compiledWithCuda,
  cuda,
  CUDAGraph,
  CUDAGraphError,
  cudaGraphsAvailable,
  Generator,
  keep,
  randn,
  tensor,
  tidy,
  TorchError,
  withSideStream,
  zeros,
} from "../../mod.ts";
import { readShimInfo } from "../../ffi/shim_path.ts";

const info = readShimInfo();
const withGraphs = cudaGraphsAvailable();
const ignore = !(withGraphs && cuda.isAvailable());

Deno.test("CUDA graphs: cudaGraphsAvailable() says what the build recorded", () => {
  assert(info !== null, "the loaded shim has a build-info.json");
  assertEquals(withGraphs, info.cudaGraphs === true);
  if (!compiledWithCuda) assertEquals(withGraphs, false, "a CPU-only libtorch has no CUDA graphs");
  if (withGraphs) assertEquals(info.noCudaGraphsReason, undefined);
  else assert(typeof info.noCudaGraphsReason === "string", "the build says why there are none");
});

Deno.test({
  name: "CUDA graphs: without them a capture is refused in one line that names --cuda-graphs off",
  ignore: !ignore,
  fn: () => {
    const expected = !withGraphs
      ? `${info!.noCudaGraphsReason}: run with --cuda-graphs off`
      : "CUDA graphs need a CUDA device, and none is visible: run with --cuda-graphs off";
    if (!compiledWithCuda) {
      assertEquals(
        expected,
        "CUDA graphs need a libtorch built with CUDA; this one is CPU-only: run with --cuda-graphs off",
      );
    }
    using graph = new CUDAGraph(); // the native graph is made on first use
    let ran = false;
    const e = assertThrows(() => capture(graph, "cuda", () => (ran = true)), CUDAGraphError);
    assertEquals(e.message, expected);
    assertEquals((e as CUDAGraphError).op, "tt_cuda_graph_new");
    assert(!ran, "fn must not run when the capture cannot begin");
    const side = assertThrows(() => withSideStream("cuda", () => (ran = true)), CUDAGraphError);
    assertEquals(side.message, expected);
    assert(!ran, "fn must not run without a side stream");
    assertThrows(() => graph.captureBegin(), CUDAGraphError, expected);
    graph.reset(); // nothing was made: a no-op
  },
});

Deno.test("CUDA graphs: arguments are checked before any shim call", () => {
  using graph = new CUDAGraph();
  assertThrows(() => capture(graph, "cpu", () => 0), TypeError, `"cuda" or "cuda:N"`);
  assertThrows(() => capture({} as CUDAGraph, "cuda", () => 0), TypeError, "a CUDAGraph");
  assertThrows(() => capture(graph, "cuda", 0 as unknown as () => 0), TypeError, "a function");
  assertThrows(() => withSideStream("gpu", () => 0), TypeError, "device");
  assertThrows(
    () => graph.registerGenerator({} as Generator),
    TypeError,
    "CUDAGraph.registerGenerator(gen): gen must be a Generator",
  );
  graph.dispose();
  assertThrows(() => graph.replay(), TorchError, "disposed");
});

Deno.test(
  { name: "CUDA graphs: y = x * 2 + 1 follows new data in x on each replay", ignore },
  () => {
    const x = keep(zeros([1000], { device: "cuda" }));
    using graph = new CUDAGraph();
    // Tensors made inside the capture live in the graph's pool: each replay rewrites y.
    const y = keep(capture(graph, "cuda", () => tidy(() => x.mul(2).add(1))));
    for (const k of [1, 2, 3]) {
      tidy(() =>
        x.copy_(tensor(Array.from({ length: 1000 }, (_, i) => i * k), { device: "cuda" }))
      );
      graph.replay();
      assertEquals(
        tidy(() => y.cpu().toArray()),
        Array.from({ length: 1000 }, (_, i) => i * k * 2 + 1),
        `replay ${k}`,
      );
    }
    y.dispose();
    x.dispose();
  },
);

Deno.test(
  {
    name: "CUDA graphs: a registered generator draws afresh on each replay, as it draws eagerly",
    ignore,
  },
  () => {
    const n = 4096;
    const gen = new Generator(1234, { device: "cuda" });
    const out = keep(zeros([n], { device: "cuda" }));
    using graph = new CUDAGraph();
    graph.registerGenerator(gen);
    capture(graph, "cuda", () => tidy(() => void out.copy_(gen.rand([n]))));
    const replayed = [0, 1, 2].map(() => {
      graph.replay();
      return tidy(() => out.cpu().toArray()) as number[];
    });
    const eager = new Generator(1234, { device: "cuda" });
    const drawn = [0, 1, 2].map(() => tidy(() => eager.rand([n]).cpu().toArray()) as number[]);
    assert(replayed[0].some((v, i) => v !== replayed[1][i]), "each replay draws new numbers");
    assert(replayed[1].some((v, i) => v !== replayed[2][i]), "each replay draws new numbers");
    assertEquals(replayed, drawn, "the replays' draws are the generator's eager draws");
    tidy(() =>
      assertEquals(
        gen.getState().toArray(),
        eager.getState().toArray(),
        "the generator advanced as the eager one did",
      )
    );
    out.dispose();
    gen.dispose();
    eager.dispose();
  },
);

Deno.test(
  {
    name: "CUDA graphs: item() inside a capture fails in one line naming the op and the flag; " +
      "eager work goes on",
    ignore,
  },
  () => {
    const x = keep(tensor([1, 2, 3, 4], { device: "cuda" }));
    using graph = new CUDAGraph();
    const e = assertThrows(
      () => capture(graph, "cuda", () => tidy(() => x.sum().item())),
      CUDAGraphError,
      "this step cannot be captured in a CUDA graph: tt_item: ",
    ) as CUDAGraphError;
    assertEquals(e.op, "tt_item");
    assert(e.message.endsWith("; run with --cuda-graphs off"), e.message);
    assert(!e.message.includes("\n"), `one line: ${e.message}`);
    assert(e.cause instanceof TorchError, "the original error is the cause");
    // The stream and the allocator are back: eager work runs and reads back.
    assertEquals(tidy(() => x.add(1).sum().item()), 14);
    cuda.synchronize();
    // The failed capture left the graph empty.
    assertThrows(() => graph.replay(), TorchError);
    // And a later capture works.
    using again = new CUDAGraph();
    const y = keep(capture(again, "cuda", () => tidy(() => x.mul(3))));
    again.replay();
    assertEquals(tidy(() => y.cpu().toArray()), [3, 6, 9, 12]);
    y.dispose();
    x.dispose();
  },
);

Deno.test(
  { name: "CUDA graphs: warm-up on a side stream, then a capture that replays the same", ignore },
  () => {
    const x = keep(randn([64, 32], { device: "cuda" }));
    const w = keep(randn([32, 16], { device: "cuda" }));
    const step = () => tidy(() => x.matmul(w).relu().sum({ dim: 1 }));
    // torch's recipe: a few iterations on a side stream (cuBLAS handles and workspaces made
    // outside the capture), the current stream waiting for them.
    const warm = withSideStream("cuda", () => {
      for (let i = 0; i < 2; i++) step().dispose();
      return step();
    });
    assertClose(warm, step(), 1e-5, 1e-6, "warm-up on the side stream");
    warm.dispose();
    using graph = new CUDAGraph();
    const y = keep(capture(graph, "cuda", step));
    for (let k = 0; k < 2; k++) {
      tidy(() => x.copy_(randn([64, 32], { device: "cuda" })));
      graph.replay();
      tidy(() => assertClose(y, step(), 1e-5, 1e-6, `replay ${k}`));
    }
    y.dispose();
    x.dispose();
    w.dispose();
  },
);
