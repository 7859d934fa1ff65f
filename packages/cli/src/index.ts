export { CliError, EXIT, type ExitCode } from "./exitCodes.js";
export { HELP, main } from "./main.js";
