export { paint } from "../diagnostics/ansi.js";
