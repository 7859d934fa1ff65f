/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its TYPE, HELP and samples. */
export interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/;
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/;

/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4): every line is a
 * HELP, a TYPE or a sample; every sample belongs to a family declared by TYPE before it
 * (histograms' `_bucket`, `_sum`, `_count`); label values are unescaped; values are numbers.
 * Throws on anything else.
 */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new Error("the text must end with a newline");
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === "") return;
    if (line.startsWith("# HELP ")) {
      const [name, ...help] = line.slice(7).split(" ");
      if (!name || !NAME.test(name)) throw new Error(`bad HELP at ${where}`);
      const f = families.get(name) ?? { type: "untyped", help: "", samples: [] };
      f.help = help.join(" ");
      families.set(name, f);
      return;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type, ...rest] = line.slice(7).split(" ");
      if (!name || !NAME.test(name) || rest.length > 0) throw new Error(`bad TYPE at ${where}`);
      if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(type ?? ""))
        throw new Error(`unknown type at ${where}`);
      const f = families.get(name) ?? { type: "untyped", help: "", samples: [] };
      if (f.samples.length > 0) throw new Error(`TYPE after samples at ${where}`);
      f.type = type!;
      families.set(name, f);
      return;
    }
    if (line.startsWith("#")) return;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample at ${where}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    let rest = m[3] ?? "";
    while (rest.length > 0) {
      const l = LABEL.exec(rest);
      if (!l) throw new Error(`bad labels at ${where}`);
      if (Object.hasOwn(labels, l[1]!)) throw new Error(`repeated label at ${where}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === "n" ? "\n" : c));
      rest = rest.slice(l[0].length);
    }
    const raw = m[4]!;
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : raw === "NaN" ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== "NaN") throw new Error(`bad value at ${where}`);
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, "")) ?? undefined;
    if (!family) throw new Error(`sample without a TYPE at ${where}`);
    if (family.type !== "histogram" && family.type !== "summary" && !families.has(name))
      throw new Error(`suffixed sample of a ${family.type} at ${where}`);
    family.samples.push({ name, labels, value });
  });
  return families;
}
