export { jsonLine, jsonText, jsonValue, paint, valueText } from "../diagnostics/terminal.js";
