import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ValidationError } from "./errors.js";

/** How a command or query is declared: a function, or `{ input, run }`. */
interface WithInput {
  input: StandardSchemaV1;
  run: (...a: unknown[]) => unknown;
}

const AsyncFunction = (async () => {}).constructor;
const GeneratorFunction = function* () {}.constructor;
const AsyncGeneratorFunction = async function* () {}.constructor;

/** Parameters raftkit passes besides the state: a command's argument and context, a query's argument. */
const MAX_PARAMS = { command: 3, query: 2 } as const;

function isSchema(v: unknown): v is StandardSchemaV1 {
  const std = (v as { "~standard"?: { validate?: unknown } } | null)?.["~standard"];
  return typeof std?.validate === "function";
}

/**
 * Throws a TypeError naming the operation unless it is a synchronous function (or
 * `{ input: StandardSchema, run: function }`) taking no more parameters than raftkit passes.
 * An async or generator reducer would run half on the draft and half after it is revoked, and
 * again on every replay, so it is refused here rather than failing in the cluster.
 */
export function assertOperationShape(kind: "command" | "query", name: string, op: unknown): void {
  let fn = op;
  if (typeof op === "object" && op !== null) {
    const { input, run, since } = op as Partial<WithInput> & { since?: unknown };
    if (kind === "command" && since !== undefined) {
      if (!Number.isSafeInteger(since) || (since as number) < 1)
        throw new TypeError(`command "${name}": since must be a machine version, an integer ≥ 1`);
    }
    if (input !== undefined || kind === "query" || since === undefined) {
      if (!isSchema(input))
        throw new TypeError(
          `${kind} "${name}": input must be a Standard Schema (zod ≥ 3.24, valibot, arktype…): it has no ~standard.validate`,
        );
    }
    fn = run;
  }
  if (typeof fn !== "function")
    throw new TypeError(
      `${kind} "${name}" must be a function or { input: schema, run: function }${kind === "command" ? " or { since: version, run: function }" : ""}`,
    );
  const ctor = fn.constructor;
  if (ctor === AsyncFunction || ctor === GeneratorFunction || ctor === AsyncGeneratorFunction) {
    const what = ctor === AsyncFunction ? "an async function" : "a generator";
    throw new TypeError(
      `${kind} "${name}" is ${what}: ${kind === "command" ? "reducers" : "queries"} must be synchronous ` +
        "(they run inside the state machine, identically on every node and on every replay). " +
        "Do I/O before sending the command, and pass its outcome as the argument",
    );
  }
  if (fn.length > MAX_PARAMS[kind]) {
    const shape = kind === "command" ? "(draft, arg, ctx)" : "(state, arg)";
    throw new TypeError(
      `${kind} "${name}" declares ${fn.length} parameters; a ${kind} is ${shape}: pass several values in one object`,
    );
  }
}

/** The function that runs an operation declared either way. */
export function operationFn(op: unknown): (...a: unknown[]) => unknown {
  return (typeof op === "function" ? op : (op as WithInput).run) as (...a: unknown[]) => unknown;
}

/** The operation's input schema, if it was declared with one. */
export function inputSchema(op: unknown): StandardSchemaV1 | undefined {
  return typeof op === "object" && op !== null ? (op as Partial<WithInput>).input : undefined;
}

/**
 * Validates `arg` against the operation's input schema: resolves with the schema's output
 * (what is proposed, or what the query gets), or `arg` as it is when there is no schema.
 * Throws {@link ValidationError} with the schema's issues.
 */
export async function validateInput(
  kind: "command" | "query",
  name: string,
  op: unknown,
  arg: unknown,
): Promise<unknown> {
  const schema = inputSchema(op);
  if (!schema) return arg;
  let result = schema["~standard"].validate(arg);
  if (result instanceof Promise) result = await result;
  if (result.issues) throw new ValidationError(kind, name, result.issues);
  return result.value;
}
