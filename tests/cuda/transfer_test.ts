// Host-to-device transfer on a GPU (ffi/transfer.ts over native/transfer.cpp):
// pinned buffers, CUDA events, and a prefetch of gathered batches from a mapped
// file through a pinned buffer, on withSideStream (torch's recipe) and on the
// copy stream with events. Skipped (ignored) where no GPU is visible, as the
// other tests/cuda files are; tests/ffi/transfer_test.ts holds the refusals.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  arange,
  copyNonBlocking,
  cuda,
  CudaEvent,
  empty,
  indexSelectOut,
  isPinned,
  mapFile,
  pinMemory,
  randn,
  type Tensor,
  tensor,
  tidy,
  TorchError,
  withCopyStream,
  withSideStream,
} from "../../mod.ts";

const ignore = !cuda.isAvailable();

function same(a: Tensor, b: Tensor, what: string): void {
  assertEquals(a.shape, b.shape, `${what}: shape`);
  assertEquals(a.dtype, b.dtype, `${what}: dtype`);
  assert(a.eq(b).all().item() === 1, `${what}: values`);
}

/** A mapped temp file of `rows` rows of 3 x 32 x 32 bytes, and its removal. */
function mappedData(rows: number): { data: Tensor; remove: () => void } {
  const dir = Deno.makeTempDirSync({ prefix: "byol-prefetch-" });
  const path = `${dir}/cache.bin`;
  const row = 3 * 32 * 32;
  const bytes = new Uint8Array(rows * row).map((_, i) => (i * 13 + (i >> 10)) & 255);
  Deno.writeFileSync(path, bytes);
  const data = mapFile(path, { shape: [rows, 3, 32, 32] });
  Deno.removeSync(dir, { recursive: true }); // the map outlives the file
  return { data, remove: () => data.dispose() };
}

Deno.test({ name: "CUDA transfer: pinMemory pins, isPinned tells", ignore }, () => {
  tidy(() => {
    const t = randn([64, 64]);
    assertEquals(isPinned(t), false);
    const p = pinMemory(t);
    assert(isPinned(p), "pinned");
    same(p, t, "pinned copy");
    assert(isPinned(pinMemory(p)), "pinning a pinned tensor keeps it pinned");
    assertEquals(isPinned(t.to("cuda")), false, "a CUDA tensor is not pinned host memory");
    assertThrows(() => pinMemory(t.to("cuda")), TorchError);
  });
});

Deno.test({ name: "CUDA transfer: events record, wait, synchronize and query", ignore }, () => {
  tidy(() => {
    using ev = new CudaEvent("cuda");
    assertEquals(ev.device, "cuda:0");
    assert(ev.query(), "an event never recorded is done");
    ev.wait();
    ev.synchronize();
    const a = randn([2048, 2048], { device: "cuda" });
    let b = a;
    for (let i = 0; i < 8; i++) b = b.matmul(a).div(2048);
    ev.record();
    ev.synchronize();
    assert(ev.query(), "done after synchronize");
    ev.wait();
    assert(Number.isFinite(b.sum().item()));
    const n = cuda.deviceCount();
    const e = assertThrows(() => new CudaEvent(`cuda:${n}`), TorchError);
    assertEquals(
      e.message,
      `cuda_event_new: device must be a CUDA device (0..${n - 1}), got ${n}`,
    );
  });
  const ev = new CudaEvent();
  ev.dispose();
  ev.dispose();
  assert(ev.isDisposed);
  assertThrows(() => ev.record(), TorchError, "disposed");
});

Deno.test(
  { name: "CUDA transfer: indexSelectOut on the device equals indexSelect", ignore },
  () => {
    tidy(() => {
      const src = randn([100, 8], { device: "cuda" });
      const idx = tensor([5, 99, 0, 5], { dtype: "int64", device: "cuda" });
      const out = empty([4, 8], { device: "cuda" });
      indexSelectOut(src, 0, idx, out);
      same(out, src.indexSelect(0, idx), "cuda gather");
    });
  },
);

Deno.test({
  name: "CUDA transfer: a prefetch on withSideStream (gather, pinned, async copy, event)",
  ignore,
  fn: () => {
    const { data, remove } = mappedData(256);
    try {
      tidy(() => {
        const pinned = pinMemory(empty([32, 3, 32, 32], { dtype: "uint8" }));
        const gpu = empty([32, 3, 32, 32], { dtype: "uint8", device: "cuda" });
        using ready = new CudaEvent("cuda");
        for (let step = 0; step < 4; step++) {
          const idx = arange(255 - step, -1, -8, { dtype: "int64" });
          ready.synchronize(); // the previous copy out of `pinned` is done
          withSideStream("cuda", () => {
            indexSelectOut(data, 0, idx, pinned);
            copyNonBlocking(gpu, pinned);
            ready.record();
          });
          ready.wait();
          same(gpu.to("cpu"), data.indexSelect(0, idx), `step ${step}`);
        }
      });
    } finally {
      remove();
    }
  },
});

Deno.test({
  name: "CUDA transfer: double-buffered prefetch on the copy stream, ordered by events",
  ignore,
  fn: () => {
    const { data, remove } = mappedData(512);
    try {
      tidy(() => {
        const shape = [64, 3, 32, 32];
        const pinned = [0, 1].map(() => pinMemory(empty(shape, { dtype: "uint8" })));
        const gpu = [0, 1].map(() => empty(shape, { dtype: "uint8", device: "cuda" }));
        const ready = [new CudaEvent(), new CudaEvent()];
        const free = [new CudaEvent(), new CudaEvent()];
        const order = (s: number) => arange(s % 8, 512, 8, { dtype: "int64" });
        const prefetch = (s: number) => {
          const k = s % 2;
          ready[k].synchronize(); // pinned[k]'s last copy is done
          indexSelectOut(data, 0, order(s), pinned[k]);
          withCopyStream("cuda", () => {
            free[k].wait(); // the step that read gpu[k] is done
            copyNonBlocking(gpu[k], pinned[k]);
            ready[k].record();
          });
        };
        prefetch(0);
        for (let s = 0; s < 6; s++) {
          prefetch(s + 1); // overlaps step s
          const k = s % 2;
          ready[k].wait();
          const x = gpu[k].to("float32").mul(2); // the "step", on the main stream
          free[k].record();
          same(x.div(2).to("uint8").to("cpu"), data.indexSelect(0, order(s)), `step ${s}`);
        }
        for (const e of [...ready, ...free]) e.dispose();
      });
    } finally {
      remove();
    }
  },
});
