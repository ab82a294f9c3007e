import fc from "fast-check";

// CI runs are reproducible: one fixed seed for every property (a failure there reproduces locally
// with CI=true). Local runs and `npm run test:deep` draw fresh seeds, so new cases keep being tried;
// LEASH_SEED pins any run to a seed.
const seed = process.env.LEASH_SEED ?? (process.env.CI === "true" ? "20261122" : undefined);
if (seed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: Number(seed) });
