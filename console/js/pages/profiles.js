// Profiles: every profile as JSON; administrators edit, create and delete non-built-in ones.
import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { Badge, ConfirmButton, ErrorBox, html, Loading, Page, Table, useLoad } from '../ui.js';

export function Profiles({ params }) {
  const state = useLoad(() => api.get('/profiles'));
  const selected = params.name;
  return html`<${Page} title="Profiles">
    <${Loading} state=${state}>${(list) => html`
      <${Table} caption="Profiles" rows=${list} cols=${[
        { label: 'Name', cell: (p) => html`<a href=${`#/profiles?name=${encodeURIComponent(p.name)}`}>${p.name}</a>` },
        { label: 'Description', cell: (p) => p.description ?? '' },
        { label: 'Audience', cell: (p) => p.audience ?? '' },
        { label: 'Approval', cell: (p) => (p.manualApproval ? 'manual' : 'automatic') },
        { label: '', cell: (p) => (p.builtin ? html`<${Badge} value="active" label="built-in" />` : '') },
      ]} />
      ${can('administrator') && html`<div class="actions"><a class="button" href="#/profiles?name=">New profile</a></div>`}
      ${selected !== undefined && html`<${Editor} key=${selected} profile=${list.find((p) => p.name === selected)} reload=${state.reload} />`}
    `}<//>
  <//>`;
}

function Editor({ profile, reload }) {
  const isNew = !profile;
  const { builtin, ...definition } = profile ?? { name: '', description: '' };
  const [text, setText] = useState(JSON.stringify(definition, null, 2));
  const [error, setError] = useState(undefined);
  const [saved, setSaved] = useState(false);
  const editable = can('administrator') && !builtin;
  const save = async (e) => {
    e.preventDefault();
    setError(undefined);
    setSaved(false);
    try {
      const body = JSON.parse(text);
      if (isNew) await api.post('/profiles', body);
      else await api.put(`/profiles/${encodeURIComponent(profile.name)}`, body);
      setSaved(true);
      reload();
      if (isNew) location.hash = `/profiles?name=${encodeURIComponent(body.name)}`;
    } catch (err) {
      setError(err);
    }
  };
  return html`<section class="panel" aria-label="Profile definition">
    <h2>${isNew ? 'New profile' : profile.name}${builtin ? ' (built-in, read-only)' : ''}</h2>
    <form onSubmit=${save}>
      <label>Definition (JSON)
        <textarea rows="18" readonly=${!editable} spellcheck="false" value=${text} onInput=${(e) => setText(e.target.value)}></textarea></label>
      <${ErrorBox} error=${error} />
      ${saved && html`<p class="notice" role="status">Saved.</p>`}
      ${editable && html`<div class="actions"><button class="primary" type="submit">${isNew ? 'Create' : 'Save'}</button>
        ${!isNew && html`<${ConfirmButton} label="Delete" danger message=${`Delete profile ${profile.name}?`}
          onConfirm=${async () => { await api.del(`/profiles/${encodeURIComponent(profile.name)}`); location.hash = '/profiles'; reload(); }} />`}</div>`}
    </form>
  </section>`;
}
