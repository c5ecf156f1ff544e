// Webhooks: add (Slack or generic signed JSON), remove, send a test, delivery history. A card
// shows a red "failing" badge and the last error while recent attempts fail (the list's
// failing/last_error/last_attempt_at), and "disabled" once a 410 turned the webhook off.
import { api } from './api.js';
import { copyText, fmt, h, mount, toast } from './dom.js';

const EVENTS = [
  ['memory_leak', 'Memory leak detected'],
  ['memory_leak_resolved', 'Memory leak resolved'],
  ['new_issue', 'New issue'],
  ['regression', 'Regression'],
];

function deliveryTable(list) {
  if (!list.length) return h('p', { class: 'muted' }, 'No deliveries yet.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'grid deliveries' },
    h('thead', null, h('tr', null, ['Created', 'Status', 'Attempts', 'Response', 'Error', 'Next attempt'].map((t) =>
      h('th', { scope: 'col' }, t)))),
    h('tbody', null, list.map((d) => h('tr', null,
      h('td', { class: 'nowrap' }, h('time', { datetime: d.created_at, title: fmt.date(d.created_at) }, fmt.ago(d.created_at))),
      h('td', null, h('span', { class: ['badge', `delivery-${d.status}`] }, d.status)),
      h('td', null, String(d.attempts ?? '')),
      h('td', null, d.response_code ? String(d.response_code) : '—'),
      h('td', { class: 'wrap' }, d.error || ''),
      h('td', { class: 'nowrap' }, d.next_attempt_at ? fmt.ago(d.next_attempt_at) : '—'))))));
}

function webhookCard(wh, ctx) {
  const history = h('div', { class: 'deliveries-box', id: `deliveries-${wh.id}`, hidden: true });
  let open = false;
  const loadHistory = async () => {
    try {
      const r = await api('GET', `/webhooks/${wh.id}/deliveries?limit=20`);
      const list = (r && r.deliveries) || [];
      mount(history, h('h3', null, 'Delivery history'), deliveryTable(list));
      return list;
    } catch (e) {
      mount(history, h('p', { class: 'form-error' }, e.message));
      return [];
    }
  };
  const historyBtn = h('button', { type: 'button', class: 'btn btn-small', 'aria-expanded': 'false',
    'aria-controls': history.id, onclick: async () => {
      open = !open;
      historyBtn.setAttribute('aria-expanded', String(open));
      history.hidden = !open;
      if (open) await loadHistory();
    } }, 'Delivery history');
  const testBtn = h('button', { type: 'button', class: 'btn btn-small', onclick: async () => {
    testBtn.disabled = true;
    try {
      await api('POST', `/webhooks/${wh.id}/test`, {});
      toast('Test message queued');
      open = true;
      history.hidden = false;
      historyBtn.setAttribute('aria-expanded', 'true');
      // follow the delivery for a few seconds until it leaves "pending"/"sending"
      for (let i = 0; i < 10; i++) {
        const list = await loadHistory();
        if (list.length && !['pending', 'sending'].includes(list[0].status)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (e) {
      toast(e.message, 'error');
    } finally {
      testBtn.disabled = false;
    }
  } }, 'Send test');
  const removeBox = h('span', { class: 'btn-group' });
  const askRemove = () => {
    const yes = h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: async () => {
      yes.disabled = true;
      try {
        await api('DELETE', `/webhooks/${wh.id}`);
        toast('Webhook removed');
        ctx.rerender();
      } catch (e) {
        toast(e.message, 'error');
        yes.disabled = false;
      }
    } }, 'Remove it');
    const no = h('button', { type: 'button', class: 'btn btn-small', onclick: () => { mount(removeBox, removeBtn); removeBtn.focus(); } }, 'Cancel');
    mount(removeBox, yes, no);
    yes.focus();
  };
  const removeBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost-danger', onclick: askRemove }, 'Remove');
  mount(removeBox, removeBtn);
  const events = Array.isArray(wh.events) ? wh.events : [];
  const health = wh.disabled
    ? h('span', { class: 'badge status-disabled', title: wh.disabled_reason || '' }, 'disabled')
    : wh.failing ? h('span', { class: 'badge status-failing', title: wh.last_error || '' }, 'failing') : null;
  const problem = wh.disabled ? wh.disabled_reason : wh.failing ? wh.last_error : null;
  const problemAt = wh.disabled ? wh.disabled_at : wh.last_attempt_at;
  return h('li', { class: ['card', 'webhook', wh.failing || wh.disabled ? 'is-failing' : null] },
    h('div', { class: 'webhook-head' },
      h('div', { class: 'webhook-info' },
        h('div', { class: 'issue-meta' }, h('span', { class: ['badge', `kind-${wh.kind}`] }, wh.kind === 'slack' ? 'Slack' : 'Generic'),
          health,
          wh.created_at ? h('span', { class: 'muted' }, `added ${fmt.ago(wh.created_at)}`) : null),
        h('p', { class: 'webhook-url' }, h('code', null, wh.url)),
        wh.failing || wh.disabled ? h('p', { class: 'webhook-error' },
          h('strong', null, wh.disabled ? 'Disabled: ' : 'Last error: '), problem || 'unknown',
          problemAt ? h('time', { class: 'muted', datetime: problemAt, title: fmt.date(problemAt) }, ` · ${fmt.ago(problemAt)}`) : null) : null,
        h('ul', { class: 'tags' }, events.map((e) => h('li', { class: 'tag' }, h('span', { class: 'tag-v' }, e))))),
      h('div', { class: 'btn-group' }, testBtn, historyBtn, removeBox)),
    history);
}

export async function render(ctx) {
  const pid = Number(ctx.params[0]);
  const r = await api('GET', `/projects/${pid}/webhooks`, undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const hooks = (r && r.webhooks) || [];

  const url = h('input', { id: 'wh-url', type: 'url', name: 'url', required: true, placeholder: 'https://hooks.slack.com/services/…',
    autocomplete: 'off', inputmode: 'url' });
  const kind = h('select', { id: 'wh-kind', name: 'kind' },
    h('option', { value: 'generic' }, 'Generic (signed JSON)'), h('option', { value: 'slack' }, 'Slack incoming webhook'));
  const boxes = EVENTS.map(([k, t]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'events', value: k, checked: true }), t));
  const secretBox = h('div', { class: 'secret-box', hidden: true, role: 'status' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add webhook');
  const form = h('form', { class: 'webhook-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const events = boxes.map((b) => b.firstChild).filter((c) => c.checked).map((c) => c.value);
    if (!events.length) { toast('Pick at least one event', 'error'); return; }
    submit.disabled = true;
    try {
      const created = await api('POST', `/projects/${pid}/webhooks`, { url: url.value.trim(), kind: kind.value, events });
      toast('Webhook added');
      await render(ctx);
      if (created && (created.secret || created.warning)) {
        const box = ctx.main.querySelector('.secret-box');
        const code = created.secret ? h('code', null, created.secret) : null;
        // warning: the host does not resolve now (kept; deliveries retry until it does)
        mount(box, created.warning ? h('p', { class: 'form-warning' }, created.warning) : null,
          code ? [h('strong', null, 'Signing secret: '), code, ' ',
            h('button', { type: 'button', class: 'btn btn-small', onclick: () => copyText(created.secret, code) }, 'Copy'),
            h('p', { class: 'hint' }, 'Shown only now. Use it to verify the webhook-signature header of each delivery.')] : null);
        box.hidden = false;
      }
    } catch (e) {
      toast(e.message, 'error');
      submit.disabled = false;
    }
  } },
  h('div', { class: 'form-grid' },
    h('div', { class: 'field field-grow' }, h('label', { for: 'wh-url' }, 'URL'), url),
    h('div', { class: 'field' }, h('label', { for: 'wh-kind' }, 'Format'), kind)),
  h('fieldset', { class: 'checks' }, h('legend', null, 'Send on'), boxes),
  h('div', null, submit));

  mount(ctx.main,
    h('div', { class: 'page-head' }, h('h1', null, 'Webhooks'),
      h('p', { class: 'muted' }, 'Alerts of this project are posted to these URLs, retried until they are delivered.')),
    h('section', { class: 'card', 'aria-labelledby': 'wh-add' }, h('h2', { id: 'wh-add' }, 'Add a webhook'), form, secretBox),
    hooks.length
      ? h('ul', { class: 'webhook-list', 'aria-label': 'Webhooks' }, hooks.map((wh) => webhookCard(wh, ctx)))
      : h('div', { class: 'card empty' }, 'No webhooks yet.'));
}
