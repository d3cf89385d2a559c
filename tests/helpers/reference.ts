// The PyTorch reference for tests: sends named tensors to /usr/bin/python3
// through safetensors (bit-exact), runs a snippet that reads `inp` and fills
// `out`, and returns `out` as tensors here.
import type { Tensor } from "../../ffi/tensor.ts";
import { loadStateDictFile, saveStateDict } from "../../src/io/tensors.ts";
import { python } from "./python.ts";

const PRELUDE = `
import sys, torch, torch.nn.functional as F, st
torch.set_num_threads(${navigator.hardwareConcurrency || 2})
inp = st.load(sys.argv[1])
out = {}
`;
const EPILOGUE = `
st.save({k: v.detach().contiguous() for k, v in out.items()}, sys.argv[2])
`;

/** Runs `code` in the PyTorch reference with `inp` = inputs; returns its `out` dict. */
export async function reference(
  code: string,
  inputs: Record<string, Tensor> = {},
): Promise<Record<string, Tensor>> {
  const dir = await Deno.makeTempDir({ prefix: "byol-ref-" });
  try {
    const inPath = `${dir}/in.safetensors`;
    const outPath = `${dir}/out.safetensors`;
    await saveStateDict(inPath, inputs);
    await python(PRELUDE + dedent(code) + EPILOGUE, [inPath, outPath]);
    return await loadStateDictFile(outPath);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function dedent(s: string): string {
  const lines = s.split("\n");
  const indents = lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length);
  const n = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(n)).join("\n");
}
