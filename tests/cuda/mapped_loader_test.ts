// The loader's GPU placements over a mapped set (src/data/loader.ts,
// stager.ts): images uploaded once, or kept on the host and each batch sent a
// step ahead through pinned buffers on the copy stream; both give the batches
// of the set held in memory. cuda.memGetInfo answers. GPU only.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { cuda, type Tensor, tidy, TorchError } from "../../mod.ts";
import { ImageLoader } from "../../src/data/loader.ts";
import type { ImageSet } from "../../src/data/image_set.ts";
import { mapImages } from "../../src/data/mapped_set.ts";

const ignore = !cuda.isAvailable();
const values = (t: Tensor) => String(t.to({ device: "cpu" }).contiguous().toTypedArray());

Deno.test({ name: "CUDA: memGetInfo gives free <= total, both positive", ignore }, () => {
  const { free, total } = cuda.memGetInfo("cuda");
  assert(free > 0 && total > 0 && free <= total, `free ${free}, total ${total}`);
});

Deno.test({
  name: "memGetInfo without CUDA's headers or a device is one TorchError line",
  ignore: !ignore,
}, () => {
  assertThrows(() => cuda.memGetInfo("cuda"), TorchError);
});

Deno.test({
  name:
    "CUDA: a mapped set's batches on the device and staged from the host equal the in-memory set's",
  ignore,
}, () => {
  const dir = Deno.makeTempDirSync({ prefix: "byol-cuda-mapped-" });
  try {
    const n = 157, per = 3 * 9 * 7;
    const bytes = Uint8Array.from({ length: n * per }, (_, i) => (i * 37 + (i >> 9)) & 255);
    const file = new Uint8Array(4096 + bytes.length);
    file.set(bytes, 4096);
    Deno.writeFileSync(`${dir}/images.bin`, file);
    const memory: ImageSet = {
      length: n,
      channels: 3,
      height: 9,
      width: 7,
      images: bytes,
      labels: Int32Array.from({ length: n }, (_, i) => i % 5),
      classes: null,
      source: "test",
    };
    const mapped = { ...memory, images: mapImages(`${dir}/images.bin`, 4096, [n, 3, 9, 7]) };
    const opts = { batchSize: 16, seed: 5, device: "cuda" };
    using ref = new ImageLoader(memory, opts);
    using onDevice = new ImageLoader(mapped, { ...opts, placement: "device" });
    using staged = new ImageLoader(mapped, { ...opts, placement: "host" });
    // The default: a small mapped set fits the GPU.
    using auto = new ImageLoader(mapped, opts);
    assertEquals([onDevice.placement, staged.placement, auto.placement], [
      "device",
      "host",
      "device",
    ]);
    using tooSmall = new ImageLoader(mapped, { ...opts, deviceFreeBytes: 1000 });
    assertEquals(tooSmall.placement, "host");
    const order: [number, number][] = [];
    for (let e = 0; e < 2; e++) for (let s = 0; s < ref.stepsPerEpoch; s++) order.push([e, s]);
    order.push([4, 3], [0, 0], [0, 0], [1, 8]);
    for (const l of [onDevice, staged, tooSmall]) {
      for (const [e, s] of order) {
        tidy(() => {
          const x = ref.batch(e, s), y = l.batch(e, s);
          assertEquals(y.images.device, x.images.device);
          assertEquals(values(y.images), values(x.images), `batch ${e}:${s}`);
          assertEquals(values(y.labels!), values(x.labels!));
        });
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
