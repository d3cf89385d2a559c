// The BYOL method: loss, model with its EMA target, tau schedule.
export { byolLoss } from "./loss.ts";
export { BYOL, type BYOLOptions, type Encoder } from "./model.ts";
export { tauAt, type TauSchedule } from "./tau.ts";
