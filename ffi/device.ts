// Devices: "cpu", "cuda", "cuda:n". The C side takes -1 for the CPU and n >= 0 for CUDA n.

export type Device = "cpu" | "cuda" | `cuda:${number}`;

export function deviceCode(device: Device | string): number {
  if (device === "cpu") return -1;
  if (device === "cuda") return 0;
  const m = /^cuda:(\d+)$/.exec(device);
  if (m) return Number(m[1]);
  throw new TypeError(`unknown device "${device}"; expected "cpu", "cuda" or "cuda:N"`);
}

export function deviceName(code: number): Device {
  if (code === -1) return "cpu";
  if (code >= 0) return `cuda:${code}`;
  throw new TypeError(`tensor lives on a device this toolkit does not name (code ${code})`);
}
