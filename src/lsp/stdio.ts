/** Entry of the bundled server in the VS Code extension: the language server on stdin and stdout. */
import { startLanguageServer } from "./index.js";

startLanguageServer();
