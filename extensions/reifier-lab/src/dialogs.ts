/**
 * The dialogs of a runbook: approve (digest + guard findings), run (a form
 * built from the `parameters` cell, then the record link) and its patterns,
 * alerts and execution history. Every decision is the server's: a refusal
 * shows the reason it gave.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import {
  apiURL,
  errorText,
  IHistoryEntry,
  IRunbookDetail,
  IRunOutcome,
  IStatus,
  postAPI,
  requestAPI
} from './api';
import { badge, facts, h, percent } from './dom';

/** Fetch one runbook's full description. */
export function fetchDetail(path: string): Promise<IRunbookDetail> {
  return requestAPI<IRunbookDetail>('runbook', {}, { path });
}

function guardFindings(detail: IRunbookDetail): HTMLElement {
  if (detail.refusals.length === 0) {
    return h('span', { class: 'reifier-ok' }, 'no findings: every code cell is allowed');
  }
  return h(
    'ul',
    { class: 'reifier-refusals' },
    ...detail.refusals.map(r => h('li', {}, `code cell ${r.cell}: ${r.reason}`))
  );
}

/** Every code cell the signature covers, verbatim, and the signed constraints. */
function signedCells(detail: IRunbookDetail): HTMLElement {
  const constraints = Object.entries(detail.constraints ?? {});
  return h(
    'div',
    { class: 'reifier-signed' },
    ...detail.cells.map(c =>
      h(
        'div',
        { class: 'reifier-signed-cell' },
        h(
          'div',
          { class: 'reifier-signed-label' },
          `code cell ${c.cell}` + (c.tags.length ? ` [${c.tags.join(', ')}]` : '')
        ),
        h('pre', { class: 'reifier-signed-source' }, c.source)
      )
    ),
    h(
      'ul',
      { class: 'reifier-constraints' },
      ...(constraints.length
        ? constraints.map(([name, spec]) => h('li', {}, `${name}: ${JSON.stringify(spec)}`))
        : [h('li', {}, 'no parameter constraints')])
    )
  );
}

/** Ask for confirmation, then approve; resolve with the new status (null if cancelled). */
export async function approveRunbook(path: string): Promise<IStatus | null> {
  let detail: IRunbookDetail;
  try {
    detail = await fetchDetail(path);
  } catch (error) {
    await showErrorMessage('Cannot approve', errorText(error));
    return null;
  }
  const body = new Widget({
    node: h(
      'div',
      { class: 'reifier-dialog reifier-approve-dialog' },
      facts([
        ['Runbook', `${detail.title} (${detail.path ?? detail.id})`],
        ['Status', badge(detail.status, detail.reason)],
        ['Digest', h('code', { class: 'reifier-digest' }, detail.digest)],
        ['Approver', detail.approver],
        ['Guard', guardFindings(detail)],
        ['Signs', signedCells(detail)]
      ])
    )
  });
  const answer = await showDialog({
    title: 'Approve runbook?',
    body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({
        label: 'Approve',
        displayType: detail.refusals.length ? 'warn' : 'default'
      })
    ]
  });
  if (!answer.button.accept) {
    return null;
  }
  try {
    return await postAPI<IStatus>('approve', { path });
  } catch (error) {
    await showErrorMessage('Approval refused', errorText(error));
    return null;
  }
}

/** The run form: one text field per declared parameter, prefilled with its default. */
class ParametersForm extends Widget implements Dialog.IBodyWidget<Record<string, string>> {
  constructor(private readonly detail: IRunbookDetail) {
    super({ node: h('div', { class: 'reifier-dialog reifier-run-form' }) });
    const names = Object.keys(detail.parameters);
    this.node.append(
      facts([
        ['Runbook', detail.title],
        ['Digest', h('code', { class: 'reifier-digest' }, detail.approval?.digest ?? '')]
      ]),
      names.length
        ? h(
            'fieldset',
            {},
            h('legend', {}, 'Parameters'),
            ...names.map(name =>
              h(
                'label',
                { class: 'reifier-field' },
                h('span', {}, name),
                h('input', {
                  class: 'jp-mod-styled',
                  name,
                  type: 'text',
                  value: detail.parameters[name],
                  'data-parameter': name
                })
              )
            )
          )
        : h('p', {}, 'This runbook declares no parameters.')
    );
  }

  getValue(): Record<string, string> {
    const values: Record<string, string> = {};
    for (const name of Object.keys(this.detail.parameters)) {
      const input = this.node.querySelector<HTMLInputElement>(
        `input[data-parameter="${CSS.escape(name)}"]`
      );
      values[name] = input?.value ?? '';
    }
    return values;
  }
}

function outcomeBody(outcome: IRunOutcome): Widget {
  const ok = outcome.status === 'ok';
  const link = outcome.record_url
    ? h(
        'a',
        {
          class: 'reifier-record-link',
          href: apiURL(outcome.record_url),
          target: '_blank',
          rel: 'noopener'
        },
        'Open the execution record'
      )
    : null;
  return new Widget({
    node: h(
      'div',
      { class: 'reifier-dialog reifier-run-outcome' },
      facts([
        ['Outcome', h('span', { class: ok ? 'reifier-ok' : 'reifier-failed' }, outcome.status)],
        ['Run', outcome.run_id],
        ['Reason', outcome.reason || (ok ? 'every cell exited 0' : '')],
        ['Record', link ?? 'no record was written']
      ])
    )
  });
}

/**
 * Refuse unapproved or stale runbooks with the reason; otherwise ask for the
 * parameters, run on the server and show the outcome with the record's link.
 * `running` is told when the (possibly long) run starts and ends.
 */
export async function runRunbook(
  path: string,
  running: (busy: boolean) => void = () => undefined
): Promise<IRunOutcome | null> {
  let detail: IRunbookDetail;
  try {
    detail = await fetchDetail(path);
  } catch (error) {
    await showErrorMessage('Cannot run', errorText(error));
    return null;
  }
  if (detail.status !== 'approved') {
    await showErrorMessage('Run refused', `runbook is ${detail.status}: ${detail.reason}`);
    return null;
  }
  const answer = await showDialog({
    title: `Run ${detail.title}?`,
    body: new ParametersForm(detail),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })]
  });
  if (!answer.button.accept || answer.value === null) {
    return null;
  }
  running(true);
  let outcome: IRunOutcome;
  try {
    outcome = await postAPI<IRunOutcome>('run', { path, parameters: answer.value });
  } catch (error) {
    await showErrorMessage('Run refused', errorText(error));
    return null;
  } finally {
    running(false);
  }
  await showDialog({
    title: `Run ${outcome.status}`,
    body: outcomeBody(outcome),
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
  return outcome;
}

function historyTable(history: IHistoryEntry[]): HTMLElement {
  if (history.length === 0) {
    return h('p', {}, 'Never run.');
  }
  const rows = [...history].reverse().map(run =>
    h(
      'tr',
      {},
      h('td', {}, run.started ?? ''),
      h('td', {}, h('span', { class: `reifier-run-${run.status}` }, run.status)),
      h('td', {}, run.trigger ?? ''),
      h(
        'td',
        {},
        run.record_url
          ? h('a', { href: apiURL(run.record_url), target: '_blank', rel: 'noopener' }, 'record')
          : ''
      )
    )
  );
  return h(
    'table',
    { class: 'reifier-history' },
    h(
      'tr',
      {},
      ...['Started', 'Status', 'Trigger', ''].map(t => h('th', {}, t))
    ),
    ...rows
  );
}

/** Show the runbook's patterns, alert matchers, confidence and execution history. */
export async function showRunbookInfo(path: string): Promise<void> {
  let detail: IRunbookDetail;
  try {
    detail = await fetchDetail(path);
  } catch (error) {
    await showErrorMessage('Runbook', errorText(error));
    return;
  }
  const symptoms = detail.symptoms ?? [];
  const alerts = detail.alerts ?? [];
  const body = h(
    'div',
    { class: 'reifier-dialog reifier-info' },
    facts([
      ['Status', badge(detail.status, detail.reason)],
      ['Reason', detail.reason],
      ['Approved', detail.approval?.by ? `${detail.approval.by} at ${detail.approval.at}` : '–'],
      ['Confidence', `${percent(detail.confidence)} over ${detail.runs ?? 0} run(s)`],
      ['Autonomy', detail.autonomy ?? 'suggest']
    ]),
    h('h3', {}, 'Symptoms (log patterns)'),
    symptoms.length
      ? h('ul', {}, ...symptoms.map(s => h('li', {}, h('code', {}, s))))
      : h('p', {}, 'None.'),
    h('h3', {}, 'Alerts'),
    alerts.length
      ? h(
          'ul',
          {},
          ...alerts.map(a =>
            h(
              'li',
              {},
              h(
                'code',
                {},
                Object.entries(a)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ')
              )
            )
          )
        )
      : h('p', {}, 'None.'),
    h('h3', {}, 'Execution history'),
    historyTable(detail.history)
  );
  await showDialog({
    title: detail.title,
    body: new Widget({ node: body }),
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
}
