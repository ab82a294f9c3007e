import { describe } from "vitest";
import { memoryStore } from "../../src/stores/memory.js";
import { storeContract } from "./contract.js";

let n = 0;
describe("memoryStore: the Store contract", () => {
  storeContract(() => memoryStore(), () => `t${n++}:`);
});
