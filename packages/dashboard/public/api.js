// Talking to the dashboard's server: JSON reads, actions with the page's CSRF token, the live stream.

const csrf = document.querySelector('meta[name="csrf"]')?.getAttribute('content') ?? '';

/** GET a JSON resource; rejects with the server's error message. */
export async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body;
}

/** POST an action; the CSRF header is what lets the server tell this page from any other site. */
export async function act(path, body = {}) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-celeriac-csrf': csrf },
    body: JSON.stringify(body),
  });
  const reply = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(reply.error ?? `${response.status} ${response.statusText}`);
  return reply;
}

/** Calls `onSnapshot` with every pushed snapshot and `onStatus` with true/false as the stream connects and drops. */
export function liveSnapshots(onSnapshot, onStatus) {
  const source = new EventSource('/api/stream');
  source.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
  source.addEventListener('open', () => onStatus(true));
  source.addEventListener('error', () => onStatus(false));
  return () => source.close();
}
