// The default preset's convnet equals its PyTorch twin as docs/EXPORT.md
// prints it (the twin's code is read from the doc, so the doc cannot drift):
// the same state_dict names, forward in eval and train mode, the running
// statistics after a train-mode forward, and the gradients of the weights and
// the input.
import { assert, assertEquals } from "../helpers/asserts.ts";
import { manualSeed, nn, randn, setNumThreads, type Tensor, tidy } from "../../mod.ts";
import { reference } from "../helpers/reference.ts";
import { assertNormClose } from "../helpers/assert.ts";

setNumThreads(navigator.hardwareConcurrency || 2);

/** The twin's class definitions from docs/EXPORT.md's convnet section. */
async function twinFromDocs(): Promise<string> {
  const doc = await Deno.readTextFile(new URL("../../docs/EXPORT.md", import.meta.url));
  const section = doc.slice(doc.indexOf("## The small convnet"));
  const code = /```python\n([\s\S]*?)```/.exec(section)?.[1];
  assert(code !== undefined, "docs/EXPORT.md has no python block in its convnet section");
  const end = code.indexOf("from safetensors");
  assert(end > 0, "the twin's code ends where it loads a file");
  return code.slice(0, end);
}

Deno.test("convnet equals docs/EXPORT.md's PyTorch twin: forward (eval, train), BN statistics, gradients", async () => {
  manualSeed(21);
  const model = nn.convNet({ inChannels: 1, width: 8 });
  // Scaled and shifted so that many pre-activations are negative, some windows wholly so.
  const x = randn([4, 1, 28, 28]).mul(1.5).sub(0.4);
  const inputs: Record<string, Tensor> = { x };
  for (const [k, t] of Object.entries(model.stateDict())) inputs[`w.${k}`] = t.clone();
  const evalOut = tidy(() => model.eval().forward(x));
  model.train();
  const xg = x.clone().requiresGrad_(true);
  const trainOut = tidy(() => {
    const y = model.forward(xg);
    y.mul(y.add(1)).sum().backward();
    return y.detach();
  });
  const ref = await reference(
    (await twinFromDocs()) + `
m = ConvNet(in_channels=1, width=8)
m.load_state_dict({k[2:]: v for k, v in inp.items() if k.startswith("w.")})
m.eval()
with torch.no_grad(): out["eval"] = m(inp["x"])
m.train()
x = inp["x"].clone().requires_grad_(True)
y = m(x)
(y * (y + 1)).sum().backward()
out["train"] = y.detach()
out["x.grad"] = x.grad
for k, p in m.named_parameters(): out["grad." + k] = p.grad
for k, b in m.named_buffers(): out["buf." + k] = b
`,
    inputs,
  );
  const ours = Object.keys(model.stateDict()).sort();
  const theirs = Object.keys(ref).filter((k) => k.startsWith("buf.") || k.startsWith("grad."))
    .map((k) => k.replace(/^(buf|grad)\./, "")).sort();
  assertEquals(ours, theirs, "state_dict names");
  assertNormClose(evalOut, ref.eval, 1e-5, "eval forward");
  assertNormClose(trainOut, ref.train, 1e-5, "train forward");
  assertNormClose(xg.grad!, ref["x.grad"], 1e-4, "input gradient");
  for (const [k, p] of model.namedParameters()) {
    assertNormClose(p.grad!, ref[`grad.${k}`], 1e-4, `grad ${k}`);
  }
  for (const [k, b] of Object.entries(model.stateDict())) {
    if (k.includes("running_")) assertNormClose(b, ref[`buf.${k}`], 1e-5, k);
  }
});
