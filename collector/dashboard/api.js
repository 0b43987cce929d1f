// REST calls from the page: JSON in and out, the token (if the collector has one) sent
// as Authorization: Bearer and kept for this tab only, never put in a URL.
//
// Reads need no token; a change answered 401 opens the token dialog once, then is sent
// again with what the user typed.
import { $ } from './dom.js';

const KEY = 'nodeflight.token';

export function getToken() {
  return sessionStorage.getItem(KEY) ?? '';
}

/** @param {string} token '' forgets it. */
export function setToken(token) {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
  document.dispatchEvent(new CustomEvent('nodeflight:token'));
}

/** An answer other than 2xx, with the collector's `errors` messages. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string[]} errors
   */
  constructor(status, errors) {
    super(errors.join('; '));
    this.status = status;
    this.errors = errors;
  }
}

/** @type {Promise<boolean> | null} */
let asking = null;

/**
 * Opens the token dialog (one at a time, shared by concurrent callers); resolves true
 * if the user gave a token.
 * @param {string} reason
 * @returns {Promise<boolean>}
 */
export function askToken(reason) {
  asking ??= new Promise((resolve) => {
    const dialog = $('token-dialog', HTMLDialogElement);
    const form = $('token-form', HTMLFormElement);
    const input = $('token-input', HTMLInputElement);
    $('token-reason', HTMLElement).textContent = reason;
    input.value = getToken();
    const done = (/** @type {boolean} */ value) => {
      form.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('cancel', onCancel);
      dialog.close();
      asking = null;
      resolve(value);
    };
    const onSubmit = (/** @type {SubmitEvent} */ event) => {
      event.preventDefault();
      const action = event.submitter instanceof HTMLButtonElement ? event.submitter.value : 'save';
      if (action === 'save') {
        setToken(input.value.trim());
        done(input.value.trim() !== '');
      } else {
        if (action === 'clear') setToken('');
        done(false);
      }
    };
    const onCancel = (/** @type {Event} */ event) => {
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

/**
 * Sends a request; resolves with the parsed body, throws an ApiError for any other status than 2xx.
 * The body is the collector's JSON, as yet unchecked: callers name its shape (api-types.js).
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<unknown>}
 */
export async function api(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json' };
    const token = getToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    const text = await res.text();
    /** @type {unknown} */
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed;
    const listed = typeof parsed === 'object' && parsed !== null && 'errors' in parsed ? parsed.errors : undefined;
    const errors = Array.isArray(listed) ? listed.map(String) : [`${res.status} ${res.statusText}`];
    if (res.status === 401 && attempt === 0) {
      const reason = token ? 'The token was refused. Enter the collector\'s token.' : 'This collector needs its token for changes.';
      if (await askToken(reason)) continue;
    }
    throw new ApiError(res.status, errors);
  }
}

export const get = (/** @type {string} */ path) => api('GET', path);
