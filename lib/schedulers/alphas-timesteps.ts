/** Inference timesteps of the alphas_cumprod schedulers (DDIM, DDPM): integer, descending. */
import type { SchedulerConfig } from "./config.js";
import { npArange, npLinspace, roundHalfEven } from "./numeric.js";

export function ddimStyleTimesteps(config: Readonly<SchedulerConfig>, n: number): number[] {
  const N = config.num_train_timesteps;
  switch (config.timestep_spacing) {
    case "linspace":
      return npLinspace(0, N - 1, n).map(roundHalfEven).reverse();
    case "leading": {
      const ratio = Math.floor(N / n);
      return Array.from({ length: n }, (_, i) => i * ratio).reverse().map((t) => t + config.steps_offset);
    }
    case "trailing":
      return npArange(N, 0, -N / n).map((t) => roundHalfEven(t) - 1);
  }
}
