/**
 * `leash/redis`: partitions in Redis, standalone or Cluster, shared by every instance of a
 * gateway. The ioredis client is a peer dependency.
 */
export { redisStore, type RedisStore, type RedisStoreOptions, type RedisStoreStats } from "./store.js";
export type { RedisClient } from "./client.js";
export { StoreError, type PartitionData, type Step, type StepResult, type Store } from "../store.js";
