import { usage } from "./exitCodes.js";

/** Parses `n1=URL,n2=URL,…` (as `--peers` takes it) into `{ n1: URL, … }`. */
export function parsePeers(text: string, flag = "--peers"): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw usage(`${flag}: "${part}" is not ID=URL; give e.g. n1=http://10.0.0.1:7000,n2=…`);
    const id = part.slice(0, eq);
    if (Object.hasOwn(peers, id)) throw usage(`${flag}: ${id} is given twice`);
    peers[id] = part.slice(eq + 1);
  }
  if (Object.keys(peers).length === 0) throw usage(`${flag} is empty; give ID=URL pairs separated by commas`);
  return peers;
}
