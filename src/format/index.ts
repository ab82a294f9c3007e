export { printPolicy, formatSource, type FormatResult } from "./print.js";
export { formatString, formatNumber, formatResourceGlob } from "./lexical.js";
