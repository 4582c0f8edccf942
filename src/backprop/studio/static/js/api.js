// Talking to the studio's server. Every request carries the token from the page's URL.
const token = new URLSearchParams(window.location.search).get("token") || "";

export function withToken(path, params = {}) {
  const query = new URLSearchParams({ ...params, token });
  return `${path}?${query}`;
}

async function answer(response) {
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { body = null; }
  if (!response.ok) {
    const message = body && body.error ? body.error : text || `HTTP ${response.status}`;
    throw new Error(message);
  }
  return body;
}

export async function get(path, params = {}) {
  const query = new URLSearchParams(params);
  const response = await fetch(`${path}?${query}`, { headers: { "X-Studio-Token": token } });
  return answer(response);
}

export async function post(path, body, params = {}) {
  const query = new URLSearchParams(params);
  const isJson = !(body instanceof Blob || body instanceof ArrayBuffer);
  const response = await fetch(`${path}?${query}`, {
    method: "POST",
    headers: { "X-Studio-Token": token, "Content-Type": isJson ? "application/json" : "application/octet-stream" },
    body: isJson ? JSON.stringify(body) : body,
  });
  return answer(response);
}

// The live stream: server-sent events, at most a few a second, each a JSON snapshot.
export function follow(onSnapshot, onTrouble) {
  const source = new EventSource(withToken("api/stream"));
  source.onmessage = (event) => onSnapshot(JSON.parse(event.data));
  source.onerror = () => onTrouble && onTrouble();
  return source;
}
