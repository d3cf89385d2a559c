// Host-to-device transfer (ffi/transfer.ts over native/transfer.cpp), the parts
// every machine runs: indexSelectOut against indexSelect (also gathering from
// a mapped file into a reused buffer), copyNonBlocking between CPU tensors,
// and, without a CUDA device, the one-line refusals of pinned memory, CUDA
// events and the copy stream. tests/cuda/transfer_test.ts runs the rest on a GPU.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  arange,
  compiledWithCuda,
  copyNonBlocking,
  cuda,
  CudaEvent,
  empty,
  indexSelectOut,
  isPinned,
  liveTensorCount,
  mapFile,
  pinMemory,
  randn,
  type Tensor,
  tensor,
  tidy,
  TorchError,
  withCopyStream,
  zeros,
} from "../../mod.ts";

function same(a: Tensor, b: Tensor, what: string): void {
  assertEquals(a.shape, b.shape, `${what}: shape`);
  assertEquals(a.dtype, b.dtype, `${what}: dtype`);
  assert(a.eq(b).all().item() === 1, `${what}: values`);
}

Deno.test("indexSelectOut equals indexSelect, into the same buffer each time", () => {
  tidy(() => {
    const src = randn([10, 3, 4]);
    const out = empty([5, 3, 4]);
    for (const rows of [[3, 1, 4, 1, 5], [9, 0, 0, 2, 6]]) {
      const idx = tensor(rows, { dtype: "int64" });
      const before = liveTensorCount();
      assertEquals(indexSelectOut(src, 0, idx, out), undefined);
      assertEquals(liveTensorCount(), before, "no tensor is made");
      same(out, src.indexSelect(0, idx), `rows ${rows}`);
    }
    const cols = tensor([2, 0], { dtype: "int32" });
    const out1 = empty([10, 2, 4]);
    indexSelectOut(src, 1, cols, out1);
    same(out1, src.indexSelect(1, cols), "dim 1, int32 indices");
    const outLast = zeros([10, 3, 2]);
    indexSelectOut(src, -1, cols, outLast);
    same(outLast, src.indexSelect(-1, cols), "dim -1");
    const none = empty([0, 3, 4]);
    indexSelectOut(src, 0, tensor([], { dtype: "int64" }), none);
    assertEquals(none.shape, [0, 3, 4]);
  });
});

Deno.test("indexSelectOut gathers rows of a mapped file into a reused uint8 buffer", () => {
  const dir = Deno.makeTempDirSync({ prefix: "byol-transfer-" });
  try {
    const path = `${dir}/cache.bin`;
    const bytes = new Uint8Array(64 * 3 * 8 * 8 + 7).map((_, i) => (i * 31 + (i >> 9)) & 255);
    Deno.writeFileSync(path, bytes);
    tidy(() => {
      const data = mapFile(path, { offset: 7, shape: [64, 3, 8, 8] });
      const batch = empty([16, 3, 8, 8], { dtype: "uint8" });
      for (let step = 0; step < 4; step++) {
        const idx = arange(step, 64, 4, { dtype: "int64" });
        indexSelectOut(data, 0, idx, batch);
        same(batch, data.indexSelect(0, idx), `step ${step}`);
        const want = bytes.subarray(7 + step * 192, 7 + (step + 1) * 192);
        assertEquals([...batch.narrow(0, 0, 1).toBytes()], [...want], `step ${step}: file bytes`);
      }
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("indexSelectOut refuses an out it would have to resize, and wrong dtypes", () => {
  tidy(() => {
    const src = randn([10, 3, 4]);
    const idx = tensor([1, 2, 3, 4, 5], { dtype: "int64" });
    const small = zeros([4, 3, 4]);
    const e = assertThrows(() => indexSelectOut(src, 0, idx, small), TorchError);
    assertEquals(
      e.message,
      "index_select_out: out has shape [4, 3, 4], the gather makes [5, 3, 4]: allocate out " +
        "with that shape (it is never resized)",
    );
    assertEquals(small.shape, [4, 3, 4]);
    assert(small.eq(0).all().item() === 1, "out untouched");
    assertThrows(
      () => indexSelectOut(src, 0, idx, zeros([5, 3, 4], { dtype: "float64" })),
      TypeError,
      "out must be a float32 tensor (src's dtype)",
    );
    assertThrows(
      () => indexSelectOut(src, 0, tensor([1.5]), zeros([1, 3, 4])),
      TypeError,
      "index must be an int64 or int32 tensor",
    );
    assertThrows(
      () => indexSelectOut(src, 0, tensor([10], { dtype: "int64" }), zeros([1, 3, 4])),
      TorchError,
    );
    assertThrows(() => indexSelectOut(src, 3, idx, zeros([5, 3, 4])), TorchError);
    assertThrows(() => indexSelectOut(src, 0.5, idx, small), TypeError, "dim");
    assertThrows(() => indexSelectOut(src, 0, idx, null as unknown as Tensor), TypeError, "out");
  });
});

Deno.test("copyNonBlocking between CPU tensors is an ordinary copy", () => {
  tidy(() => {
    const src = randn([2, 3]);
    const dst = zeros([2, 3]);
    copyNonBlocking(dst, src);
    same(dst, src, "float32");
    const d64 = zeros([2, 3], { dtype: "float64" });
    copyNonBlocking(d64, src);
    same(d64.to("float32"), src, "into float64");
    const row = zeros([3]);
    copyNonBlocking(dst, row); // broadcast, as copy_
    assert(dst.eq(0).all().item() === 1);
    assertThrows(() => copyNonBlocking(zeros([4]), src), TorchError);
    assertThrows(() => copyNonBlocking(dst, 1 as unknown as Tensor), TypeError, "src");
  });
});

const noDevice = !cuda.isAvailable();
/** The refusals' second half on this build and machine. */
const why = compiledWithCuda
  ? "a CUDA device, and none is visible"
  : "a CUDA build of libtorch (this one is CPU-only)";

Deno.test({
  name: "without a CUDA device: pinned memory, CUDA events and the copy stream refuse in one line",
  ignore: !noDevice,
  fn: () => {
    tidy(() => {
      const t = randn([4, 4]);
      assertEquals(isPinned(t), false);
      let e = assertThrows(() => pinMemory(t), TorchError);
      assertEquals(e.message, `pin_memory: pinned memory needs ${why}`);
      if (!compiledWithCuda) {
        assertEquals(
          e.message,
          "pin_memory: pinned memory needs a CUDA build of libtorch (this one is CPU-only)",
        );
      }
      e = assertThrows(() => new CudaEvent("cuda"), TorchError);
      assertEquals(e.message, `cuda_event_new: CUDA events need ${why}`);
      let ran = false;
      e = assertThrows(() => withCopyStream("cuda", () => (ran = true)), TorchError);
      assertEquals(e.message, `cuda_copy_stream_begin: a copy stream needs ${why}`);
      assert(!ran, "fn must not run without the stream");
    });
  },
});

Deno.test("transfer functions check their arguments", () => {
  assertThrows(() => pinMemory(7 as unknown as Tensor), TypeError, "pinMemory(t): t must be");
  assertThrows(() => isPinned(null as unknown as Tensor), TypeError, "isPinned(t): t must be");
  assertThrows(() => new CudaEvent("cpu"), TypeError, `device must be "cuda" or "cuda:N"`);
  assertThrows(() => new CudaEvent("gpu"), TypeError, "device");
  assertThrows(
    () => withCopyStream("cuda", 3 as unknown as () => void),
    TypeError,
    "fn must be a function",
  );
  const gone = randn([2]);
  gone.dispose();
  assertThrows(() => isPinned(gone), TorchError, "disposed");
});
