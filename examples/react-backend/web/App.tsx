import { useEffect, useState } from "react";

/** What the backend streams on /api/events. */
interface Live {
  value: number;
  leader: string | null;
  term: number;
  commit: number;
  node: string;
  members: string[];
}

/** Subscribes to the backend's server-sent events; reconnects on its own (EventSource does). */
function useLive(): Live | null {
  const [live, setLive] = useState<Live | null>(null);
  useEffect(() => {
    const es = new EventSource("/api/events");
    es.addEventListener("live", (e) => setLive(JSON.parse((e as MessageEvent<string>).data) as Live));
    return () => es.close();
  }, []);
  return live;
}

export function App() {
  const live = useLive();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function post(path: string, body: unknown) {
    setBusy(true);
    setError(null);
    try {
      const res = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) setError(((await res.json()) as { error: string }).error);
    } finally {
      setBusy(false);
    }
  }
  const add = (by: number) => post("/api/add", { by });

  return (
    <main style={{ fontFamily: "system-ui, sans-serif", maxWidth: 480, margin: "3rem auto" }}>
      <h1>raftkit counter</h1>
      <p style={{ fontSize: "4rem", margin: "1rem 0" }} data-testid="value">
        {live ? live.value : "…"}
      </p>
      <p>
        leader <strong data-testid="leader">{live?.leader ?? "none"}</strong> · term{" "}
        <span data-testid="term">{live?.term ?? "-"}</span> · commit index{" "}
        <span data-testid="commit">{live?.commit ?? "-"}</span> · seen from {live?.node ?? "-"}
      </p>
      <p>
        <button type="button" disabled={busy} onClick={() => add(1)}>
          +1
        </button>{" "}
        <button type="button" disabled={busy} onClick={() => add(5)}>
          +5
        </button>
      </p>
      <p>
        <button type="button" disabled={busy} onClick={() => post("/api/failover", {})}>
          Stop the leader (it restarts as a follower)
        </button>
      </p>
      <ul data-testid="members">
        {(live?.members ?? []).map((id) => (
          <li key={id} data-testid={`member-${id}`}>
            {id}
            {id === live?.leader ? " (leader)" : ""}
          </li>
        ))}
      </ul>
      {error && <p style={{ color: "crimson" }}>{error}</p>}
    </main>
  );
}
