// Recording dumps: POST /v1/recordings starts one (202 with a request id), then
// GET /v1/recordings/:id is polled until it is COMPLETED (a download link) or FAILED
// (its failure cause).
import { fillScopes } from './agents.js';
import { api, ApiError } from './api.js';
import { find } from './dom.js';
import * as fmt from './format.js';
/** @import { AgentJson, RecordingJson, RecordingStarted } from './api-types.js' */

const POLL_MS = 500;
const GIVE_UP_MS = 5 * 60_000;

export class RecordingsPanel {
  /** @param {ParentNode} root */
  constructor(root) {
    this.form = find(root, '#recording-form', HTMLFormElement);
    this.scope = find(root, '#recording-scope', HTMLSelectElement);
    this.last = find(root, '#recording-last', HTMLInputElement);
    this.errors = find(root, '#recording-errors', HTMLElement);
    this.start = find(root, '#recording-start', HTMLButtonElement);
    this.list = find(root, '#recording-list', HTMLElement);
    this.key = '';
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
  }

  /** @param {AgentJson[]} agents */
  update(agents) {
    this.key = fillScopes(this.scope, agents, 'all agents', this.key);
  }

  /** @param {string[]} messages */
  showErrors(messages) {
    this.errors.replaceChildren(...messages.map((m) => fmt.el('p', {}, m)));
    this.errors.hidden = messages.length === 0;
  }

  async submit() {
    this.showErrors([]);
    /** @type {{ service?: string, agentId?: string, lastMs?: number }} */
    const body = {};
    const scope = this.scope.value;
    if (scope.startsWith('service:')) body.service = scope.slice('service:'.length);
    if (scope.startsWith('agent:')) body.agentId = scope.slice('agent:'.length);
    if (this.last.value.trim() !== '') body.lastMs = Math.round(Number(this.last.value) * 1000);
    this.start.disabled = true;
    try {
      const answer = /** @type {RecordingStarted} */ (await api('POST', '/v1/recordings', body));
      const id = answer['request-id'];
      const item = fmt.el('li', { 'data-request-id': id, 'data-status': 'IN_PROGRESS' });
      this.list.prepend(item);
      void this.follow(id, item, scope ? this.scope.selectedOptions[0]?.textContent ?? scope : 'all agents');
    } catch (err) {
      this.showErrors(err instanceof ApiError ? err.errors : [String(err)]);
    } finally {
      this.start.disabled = false;
    }
  }

  /**
   * @param {string} id
   * @param {HTMLElement} item
   * @param {string} what The scope, as the list shows it.
   */
  async follow(id, item, what) {
    const started = Date.now();
    /** @type {(status: RecordingJson['status']['id'], ...content: (Node | string)[]) => void} */
    const show = (status, ...content) => {
      item.dataset.status = status;
      item.replaceChildren(fmt.el('span', { class: 'when' }, fmt.clock(started)), ` ${what}: `, ...content);
    };
    show('IN_PROGRESS', 'dumping…');
    while (Date.now() - started < GIVE_UP_MS) {
      let answer;
      try {
        answer = /** @type {RecordingJson} */ (await api('GET', `/v1/recordings/${encodeURIComponent(id)}`));
      } catch (err) {
        show('FAILED', fmt.el('span', { class: 'bad' }, err instanceof ApiError ? err.errors.join('; ') : String(err)));
        return;
      }
      const status = answer?.status?.id;
      if (status === 'COMPLETED') {
        const events = answer.operation?.events;
        const link = fmt.el('a', { href: `/v1/recordings/${encodeURIComponent(id)}/file`, download: `nodeflight-${id}.nfr`, class: 'button' }, 'Download .nfr');
        show('COMPLETED', `${events === undefined ? '' : `${fmt.count(events)} events `}`, link);
        return;
      }
      if (status === 'FAILED') {
        show('FAILED', fmt.el('span', { class: 'bad' }, `failed: ${answer.operation?.['failure-cause'] ?? 'no cause given'}`));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    show('FAILED', fmt.el('span', { class: 'bad' }, 'still in progress after 5 minutes; stopped asking'));
  }
}
