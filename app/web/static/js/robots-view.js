// The robots: a list for everyone who may chat; create and edit (name, playbook, model,
// tools, step limit) for accounts with MANAGE_ROBOTS. `#/robots?edit=new` or
// `#/robots?edit=<id>` opens the form under the list.

import { allPages, api, describeError, mayManageRobots } from './api.js';
import { focusHeading, h } from './dom.js';

let flash = null; // said once on the list after a save

export async function robotsView(container, { account, query }) {
  const manage = mayManageRobots(account);
  const editing = query.get('edit');
  const robots = await allPages('/robots', 'robots');
  const section = h('section', { 'aria-labelledby': 'robots-title' },
    h('h2', { id: 'robots-title' }, 'Robots'),
    h('p', { role: 'status' }, flash ?? ''),
    manage
      ? h('p', {}, h('a', { href: '#/robots?edit=new', class: 'button' }, 'New robot'))
      : h('p', { class: 'note' }, 'Creating and editing robots needs the MANAGE_ROBOTS permission',
        ` (the admin role); this account has ${account.roles.join(', ') || 'no role'}.`),
    robotTable(robots, manage));
  flash = null;
  container.replaceChildren(section);
  if (editing && manage) {
    const robot = editing === 'new' ? null : robots.find((r) => r.id === editing)
      ?? await api(`/robots/${encodeURIComponent(editing)}`);
    section.append(await robotForm(robot));
  }
  focusHeading(container);
  if (editing && manage) container.querySelector('#robot-name')?.focus();
}

function robotTable(robots, manage) {
  if (robots.length === 0) return h('p', {}, 'No robots yet: chats use the built-in one.');
  const columns = ['Name', 'Model', 'Tools', 'Steps'].map((c) => h('th', { scope: 'col' }, c));
  const editColumn = h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Edit'));
  return h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, columns, manage ? editColumn : null)),
    h('tbody', {}, robots.map((robot) => h('tr', {},
      h('th', { scope: 'row' }, robot.name),
      h('td', {}, robot.model),
      h('td', {}, robot.tools.join(', ') || '–'),
      h('td', {}, String(robot.max_steps)),
      manage ? h('td', {}, editLink(robot)) : null))));
}

const editLink = (robot) => h('a', {
  href: `#/robots?edit=${encodeURIComponent(robot.id)}`, 'aria-label': `Edit ${robot.name}`,
}, 'Edit');

// The model list is the providers' (MANAGE_ROBOTS too); without it, a text field.
async function modelField(current) {
  const models = await api('/robots/models').then((r) => r.models).catch(() => null);
  if (!models) {
    return h('input', { id: 'robot-model', name: 'model', value: current ?? '',
      placeholder: 'provider/model' });
  }
  const refs = new Set(models.map((m) => m.ref));
  return h('select', { id: 'robot-model', name: 'model' },
    h('option', { value: '' }, 'The default model'),
    current && !refs.has(current) ? h('option', { value: current, selected: true }, current) : null,
    models.map((m) => h('option', { value: m.ref, selected: m.ref === current }, m.ref)));
}

const field = (id, label, control) =>
  h('div', { class: 'field' }, h('label', { for: id }, label), control);

async function robotForm(robot) {
  const tools = await api('/robots/tools').then((r) => r.tools).catch(() => []);
  const chosen = new Set(robot?.tools ?? []);
  const approval = new Set(robot?.tools_requiring_approval ?? []);
  const problem = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'robot-form', 'aria-labelledby': 'robot-form-title',
                           onsubmit: (e) => save(e, robot, form, problem) },
    h('h3', { id: 'robot-form-title' }, robot ? `Edit ${robot.name}` : 'New robot'),
    field('robot-name', 'Name', h('input', { id: 'robot-name', name: 'name', required: true,
      maxlength: 100, value: robot?.name ?? '' })),
    field('robot-description', 'Description', h('input', { id: 'robot-description',
      name: 'description', value: robot?.description ?? '' })),
    field('robot-playbook', 'Playbook (its instructions)', h('textarea', {
      id: 'robot-playbook', name: 'playbook', rows: 6, value: robot?.playbook ?? '' })),
    field('robot-model', 'Model', await modelField(robot?.model)),
    field('robot-steps', 'Most steps per turn', h('input', { id: 'robot-steps',
      name: 'max_steps', type: 'number', min: 1, max: 100, value: robot?.max_steps ?? 20 })),
    h('fieldset', { class: 'tools' }, h('legend', {}, 'Tools'),
      tools.length === 0
        ? h('p', {}, 'No tools are listed.')
        : tools.map((tool) => toolChoice(tool, chosen, approval))),
    problem,
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, robot ? 'Save' : 'Create'),
      h('a', { href: '#/robots', class: 'button' }, 'Cancel')));
  return form;
}

// A tool to give the robot, and whether its calls wait for a person's approval (always, for
// the native tools that require it).
function toolChoice(tool, chosen, approval) {
  const id = `tool-${tool.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const always = tool.requires_confirmation;
  return h('div', { class: 'tool-choice' },
    h('input', { type: 'checkbox', id, name: 'tools', value: tool.id,
      checked: chosen.has(tool.id), disabled: !tool.available }),
    h('label', { for: id }, h('strong', {}, tool.name), ` ${tool.description}`),
    h('input', { type: 'checkbox', id: `${id}-approval`, name: 'approval', value: tool.id,
      checked: approval.has(tool.id) || always, disabled: always }),
    h('label', { for: `${id}-approval`, class: 'approval' }, 'needs approval'));
}

async function save(event, robot, form, problem) {
  event.preventDefault();
  const data = new FormData(form);
  const tools = data.getAll('tools');
  const body = {
    name: data.get('name').trim(),
    description: data.get('description'),
    playbook: data.get('playbook'),
    model: data.get('model') || null,
    max_steps: Number(data.get('max_steps')),
    tools,
    // A disabled box is not in the form: tools that always need approval are not listed.
    tools_requiring_approval: data.getAll('approval').filter((id) => tools.includes(id)),
  };
  try {
    const saved = robot
      ? await api(`/robots/${encodeURIComponent(robot.id)}`, { method: 'PATCH', body })
      : await api('/robots', { method: 'POST', body });
    flash = `Saved ${saved.name}.`;
    location.hash = '#/robots';
  } catch (error) {
    problem.textContent = describeError(error);
  }
}
