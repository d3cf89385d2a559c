// Weights cross between this toolkit and PyTorch through safetensors files,
// bit-exactly, with torchvision's names.
import { assertEquals } from "../helpers/asserts.ts";
import { loadStateDictFile, manualSeed, nn, saveStateDict } from "../../mod.ts";
import { python } from "../helpers/python.ts";
import { assertBitExact } from "../helpers/assert.ts";

Deno.test("a ResNet-18 saved here loads into torchvision's resnet18 and comes back bit-exact", async () => {
  manualSeed(21);
  const model = nn.resnet18({ stem: "cifar" });
  const dir = await Deno.makeTempDir();
  const ours = `${dir}/encoder.safetensors`;
  const back = `${dir}/back.safetensors`;
  await saveStateDict(ours, model);
  await python(
    `
import sys, torch, torchvision, torch.nn as nn, st
m = torchvision.models.resnet18()
m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); m.maxpool = nn.Identity(); m.fc = nn.Identity()
m.load_state_dict(st.load(sys.argv[1]), strict=True)
st.save(m.state_dict(), sys.argv[2])
`,
    [ours, back],
  );
  const returned = await loadStateDictFile(back);
  const sd = model.stateDict();
  assertEquals(Object.keys(returned).sort(), Object.keys(sd).sort());
  for (const [k, t] of Object.entries(sd)) assertBitExact(returned[k], t, k);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("weights PyTorch writes load here bit-exact", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/tv.safetensors`;
  await python(
    `
import sys, torch, torchvision, st
torch.manual_seed(3)
m = torchvision.models.resnet18()
sd = {k: v for k, v in m.state_dict().items() if not k.startswith("fc.")}
sd["bn1.running_mean"] = torch.randn(64)  # non-default buffers travel too
st.save(sd, sys.argv[1])
`,
    [path],
  );
  const dict = await loadStateDictFile(path);
  const model = nn.resnet18();
  model.loadStateDict(dict);
  for (const [k, t] of Object.entries(model.stateDict())) assertBitExact(t, dict[k], k);
  assertEquals(dict["bn1.num_batches_tracked"].dtype, "int64");
  await Deno.remove(dir, { recursive: true });
});
