// REST calls from the page: JSON in and out, the token (if the collector has one) sent
// as Authorization: Bearer and kept for this tab only, never put in a URL.
//
// Reads need no token; a change answered 401 opens the token dialog once, then is sent
// again with what the user typed.

const KEY = 'nodeflight.token';

export function getToken() {
  return sessionStorage.getItem(KEY) ?? '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
  document.dispatchEvent(new CustomEvent('nodeflight:token'));
}

/** An answer other than 2xx, with the collector's `errors` messages. */
export class ApiError extends Error {
  constructor(status, errors) {
    super(errors.join('; '));
    this.status = status;
    this.errors = errors;
  }
}

let asking = null;

/**
 * Opens the token dialog (one at a time, shared by concurrent callers); resolves true
 * if the user gave a token.
 */
export function askToken(reason) {
  asking ??= new Promise((resolve) => {
    const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('token-dialog'));
    const form = document.getElementById('token-form');
    const input = /** @type {HTMLInputElement} */ (document.getElementById('token-input'));
    document.getElementById('token-reason').textContent = reason;
    input.value = getToken();
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('cancel', onCancel);
      dialog.close();
      asking = null;
      resolve(value);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const action = event.submitter?.value ?? 'save';
      if (action === 'save') {
        setToken(input.value.trim());
        done(input.value.trim() !== '');
      } else {
        if (action === 'clear') setToken('');
        done(false);
      }
    };
    const onCancel = (event) => {
      event.preventDefault();
      done(false);
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    input.focus();
  });
  return asking;
}

/** Sends a request; resolves with the parsed body, throws an ApiError for any other status than 2xx. */
export async function api(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const headers = { accept: 'application/json' };
    const token = getToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    const text = await res.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed;
    const errors = Array.isArray(parsed?.errors) ? parsed.errors.map(String) : [`${res.status} ${res.statusText}`];
    if (res.status === 401 && attempt === 0) {
      const reason = token ? 'The token was refused. Enter the collector\'s token.' : 'This collector needs its token for changes.';
      if (await askToken(reason)) continue;
    }
    throw new ApiError(res.status, errors);
  }
}

export const get = (path) => api('GET', path);
