// Projects page: every project with its DSN and setup snippets; create, rename and delete a
// project (deleting asks for the project's name to be typed, as it cannot be undone).
import { api } from './api.js';
import { copyText, fmt, h, mount, toast } from './dom.js';
import { go, refreshProjects } from './app.js';

const SNIPPETS = [
  {
    key: 'python', label: 'Python', note: 'pip install sentry-sdk',
    code: (dsn) => `import sentry_sdk

sentry_sdk.init(
    dsn="${dsn}",
    release="myapp@1.0.0",
    environment="production",
)`,
  },
  {
    key: 'node', label: 'Node.js', note: 'npm install @sentry/node',
    code: (dsn) => `const Sentry = require('@sentry/node');

Sentry.init({
  dsn: '${dsn}',
  release: 'myapp@1.0.0',
  environment: 'production',
});`,
  },
  {
    key: 'pymem', label: 'Memory · Python',
    note: 'Copy sdk-protocol/python/sluice_memory.py and, for gunicorn, sluice_memory_gunicorn.py next to your app (standard library only). The first point appears after about a minute (6 samples, 10 s apart).',
    code: (dsn) => `# Any process: sluice_memory.py
import sluice_memory
sluice_memory.start("${dsn}")

# gunicorn: the files a setup needs
# 1. sluice_memory.py and sluice_memory_gunicorn.py on the Python path (next to the app)
# 2. gunicorn.conf.py:
from sluice_memory_gunicorn import pre_fork, post_fork  # noqa: F401
# 3. the environment of gunicorn (or sluice_memory.configure(...) in gunicorn.conf.py):
#   SLUICE_DSN=${dsn}
#   SLUICE_MEMORY_LIMIT=512M     optional: enables "time to limit"
#   SLUICE_RELEASE=shop@1.4.2    SLUICE_INTERVAL=10    SLUICE_TRACEMALLOC_TOP=10
# 4. Django (optional, counts requests): settings.py
#   INSTALLED_APPS += ["sluice_memory.django"]
#   SLUICE_MEMORY = {"release": "shop@1.4.2"}   # the same settings, for the hooks' sampler too`,
  },
  {
    key: 'nodemem', label: 'Memory · Node.js', note: 'Copy sdk-protocol/node/sluice-memory.js next to your app (no dependencies).',
    code: (dsn) => `require('./sluice-memory').start({
  dsn: '${dsn}',
  memoryLimitBytes: 512 * 1024 * 1024, // optional: enables "time to limit"
});`,
  },
];

function snippetBlock(dsn, id) {
  const code = h('code');
  const pre = h('pre', { class: 'code', id: `snip-${id}`, tabindex: '0' }, code);
  const note = h('p', { class: 'hint' });
  const buttons = [];
  const show = (sn) => {
    code.textContent = sn.code(dsn);
    note.textContent = sn.note;
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.key === sn.key));
  };
  for (const sn of SNIPPETS) {
    buttons.push(h('button', { type: 'button', class: 'seg', dataset: { key: sn.key }, 'aria-controls': `snip-${id}`,
      onclick: () => show(sn) }, sn.label));
  }
  const copy = h('button', { type: 'button', class: 'btn btn-small', onclick: () => copyText(code.textContent, code) }, 'Copy snippet');
  show(SNIPPETS[0]);
  return h('div', { class: 'snippets' },
    h('div', { class: 'snippet-bar' },
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'Setup snippet' }, buttons), copy),
    note, pre);
}

/** An inline form in the card that renames the project (PATCH), then renders the page again. */
function renameForm(p, ctx, heading) {
  const input = h('input', { id: `rename-${p.id}`, name: 'name', required: true, maxlength: 100,
    value: p.name, autocomplete: 'off' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, 'Save');
  const form = h('form', { class: 'inline-form rename-form', hidden: true, onsubmit: async (ev) => {
    ev.preventDefault();
    save.disabled = true;
    try {
      const r = await api('PATCH', `/projects/${p.id}`, { name: input.value.trim() });
      toast(`Project renamed to ${r.name}`);
      ctx.rerender();
    } catch (e) {
      toast(e.message, 'error');
      save.disabled = false;
      input.focus();
    }
  } },
  h('label', { for: `rename-${p.id}` }, 'New name'), input, save,
  h('button', { type: 'button', class: 'btn btn-small', onclick: () => { form.hidden = true; heading.focus(); } },
    'Cancel'));
  return form;
}

/** A modal that deletes the project once its name is typed (GitHub's confirmation). */
function deleteDialog(p, ctx) {
  const input = h('input', { id: `confirm-${p.id}`, name: 'confirm', autocomplete: 'off', spellcheck: 'false' });
  const confirm = h('button', { type: 'submit', class: 'btn btn-danger', disabled: true }, 'Delete this project');
  const dialog = h('dialog', { class: 'confirm-dialog', 'aria-labelledby': `delete-title-${p.id}` });
  input.addEventListener('input', () => { confirm.disabled = input.value !== p.name; });
  const form = h('form', { method: 'dialog', onsubmit: async (ev) => {
    ev.preventDefault();
    if (input.value !== p.name) return;
    confirm.disabled = true;
    try {
      await api('DELETE', `/projects/${p.id}`);
      dialog.close();
      dialog.remove();
      toast(`Project ${p.name} deleted`);
      ctx.rerender();
    } catch (e) {
      toast(e.message, 'error');
      confirm.disabled = false;
    }
  } },
  h('h2', { id: `delete-title-${p.id}` }, `Delete ${p.name}?`),
  h('p', null, 'This deletes the project and everything it holds: its issues and events, ',
    'transactions, sessions, attachments, workers with their memory samples, alerts, and webhooks ',
    'with their deliveries. Its DSN stops working at once: SDKs still using it are refused. ',
    'This cannot be undone.'),
  h('label', { for: `confirm-${p.id}` }, 'To confirm, type ', h('strong', { class: 'confirm-name' }, p.name), ':'),
  input,
  h('div', { class: 'dialog-actions' },
    h('button', { type: 'button', class: 'btn', onclick: () => { dialog.close(); dialog.remove(); } }, 'Cancel'),
    confirm));
  dialog.append(form);
  dialog.addEventListener('cancel', () => dialog.remove());
  return { dialog, input };
}

function projectCard(p, ctx) {
  const dsnCode = h('code', { class: 'dsn' }, p.dsn);
  const heading = h('h2', { id: `proj-${p.id}`, tabindex: '-1' }, p.name);
  const rename = renameForm(p, ctx, heading);
  const openRename = () => {
    rename.hidden = false;
    const input = rename.querySelector('input');
    input.focus();
    input.select();
  };
  const openDelete = () => {
    const { dialog, input } = deleteDialog(p, ctx);
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  };
  return h('section', { class: 'card project-card', 'aria-labelledby': `proj-${p.id}` },
    h('div', { class: 'card-head' },
      heading,
      h('span', { class: 'muted' }, `#${p.id}` + (p.created_at ? ` · created ${fmt.ago(p.created_at)}` : '')),
      h('div', { class: 'card-actions' },
        h('a', { class: 'btn btn-small', href: `#/p/${p.id}/issues` }, 'Issues'),
        h('a', { class: 'btn btn-small', href: `#/p/${p.id}/workers` }, 'Workers'),
        h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Rename ${p.name}`, onclick: openRename },
          'Rename'),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost-danger', 'aria-label': `Delete ${p.name}`,
          onclick: openDelete }, 'Delete'))),
    rename,
    h('div', { class: 'field-row' },
      h('span', { class: 'field-label' }, 'DSN'),
      dsnCode,
      h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Copy the DSN of ${p.name}`,
        onclick: () => copyText(p.dsn, dsnCode) }, 'Copy')),
    snippetBlock(p.dsn, p.id));
}

export async function render(ctx) {
  const list = await refreshProjects();
  if (!ctx.isCurrent()) return;
  const input = h('input', { id: 'new-project', name: 'name', required: true, maxlength: 100,
    placeholder: 'e.g. checkout-api', autocomplete: 'off' });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create project');
  const form = h('form', { class: 'inline-form', onsubmit: async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    try {
      const p = await api('POST', '/projects', { name: input.value.trim() });
      toast(`Project ${p.name} created`);
      ctx.useProject(p.id);
      go('/projects', { created: p.id });
    } catch (e) {
      toast(e.message, 'error');
      button.disabled = false;
    }
  } },
  h('label', { for: 'new-project' }, 'New project'), input, button);

  mount(ctx.main,
    h('div', { class: 'page-head' }, h('h1', null, 'Projects'),
      h('p', { class: 'muted' }, 'Point an SDK at a project\'s DSN to send it errors and memory samples.')),
    h('div', { class: 'card' }, form),
    list.length ? list.map((p) => projectCard(p, ctx)) : h('p', { class: 'empty' }, 'No projects yet.'));
  const created = ctx.query.get('created');
  if (created) document.getElementById(`proj-${created}`)?.scrollIntoView({ block: 'start' });
}
