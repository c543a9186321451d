/**
 * The "Runbooks" sidebar: the workspace's runbooks with status and
 * confidence, and "Symptom matches": a log line (pasted, or taken from a
 * recent alert or patrol suggestion) → ranked approved runbooks and why.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  errorText,
  IAlert,
  ICandidate,
  IMatchResult,
  IRunbook,
  ISuggestion,
  postAPI,
  requestAPI
} from './api';
import { badge, h, percent } from './dom';

export type Opener = (path: string) => void;

export class RunbooksPanel extends Widget {
  private readonly list = h('ul', { class: 'reifier-runbook-list' });
  private readonly line = h('textarea', {
    class: 'jp-mod-styled reifier-line',
    rows: '4',
    placeholder: 'Paste a log line…',
    'aria-label': 'Log line to match'
  });
  private readonly recent = h('select', {
    class: 'jp-mod-styled reifier-recent',
    'aria-label': 'Recent alerts and suggestions'
  });
  private readonly results = h('div', { class: 'reifier-results' });
  private readonly message = h('div', { class: 'reifier-message' });
  private sources = new Map<string, { line?: string; alert?: string }>();

  constructor(private readonly open: Opener) {
    super();
    this.addClass('reifier-panel');
    const refresh = h(
      'button',
      { class: 'jp-mod-styled jp-mod-reject reifier-refresh', title: 'Refresh' },
      '⟳'
    );
    refresh.addEventListener('click', () => void this.refresh());
    const match = h('button', { class: 'jp-mod-styled jp-mod-accept reifier-match' }, 'Match');
    match.addEventListener('click', () => void this.match({ line: this.line.value }));
    this.line.addEventListener('keydown', event => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        void this.match({ line: this.line.value });
      }
    });
    this.recent.addEventListener('change', () => this.pickRecent());
    this.node.append(
      h('header', { class: 'reifier-header' }, h('h2', {}, 'Runbooks'), refresh),
      this.message,
      this.list,
      h(
        'section',
        { class: 'reifier-matches' },
        h('h3', {}, 'Symptom matches'),
        this.recent,
        this.line,
        h('div', { class: 'reifier-actions' }, match),
        this.results
      )
    );
  }

  /** Reload the runbooks and the recent alerts and suggestions. */
  async refresh(): Promise<void> {
    try {
      const [data, suggestions, alerts] = await Promise.all([
        requestAPI<{ runbooks: IRunbook[] }>('runbooks'),
        requestAPI<ISuggestion[]>('suggestions', {}, { limit: '20' }),
        requestAPI<IAlert[]>('alerts', {}, { limit: '20' })
      ]);
      this.message.textContent = '';
      this.renderList(data.runbooks);
      this.renderRecent(suggestions, alerts);
    } catch (error) {
      this.message.textContent = `Cannot reach the Reifier API: ${errorText(error)}`;
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  private renderList(runbooks: IRunbook[]): void {
    this.list.replaceChildren(
      ...runbooks.map(rb => {
        const runs = rb.runs ?? 0;
        const item = h(
          'li',
          {
            class: 'reifier-runbook',
            'data-runbook': rb.id,
            title: `${rb.path ?? rb.id}\n${rb.status}: ${rb.reason}`
          },
          badge(rb.status, rb.reason),
          h('span', { class: 'reifier-title' }, rb.title),
          h(
            'span',
            { class: 'reifier-meta' },
            `${rb.folder} · confidence ${percent(rb.confidence)} · ${runs} run${runs === 1 ? '' : 's'}`
          )
        );
        if (rb.path) {
          const path = rb.path;
          item.addEventListener('click', () => this.open(path));
          item.classList.add('reifier-openable');
        }
        return item;
      })
    );
    if (runbooks.length === 0) {
      this.list.append(
        h('li', { class: 'reifier-empty' }, 'No runbooks in runbooks/drafts or runbooks/approved.')
      );
    }
  }

  private renderRecent(suggestions: ISuggestion[], alerts: IAlert[]): void {
    this.sources = new Map();
    const none = h('option', { value: '' }, 'Recent alerts and suggestions…');
    const alertGroup = h('optgroup', { label: 'Alerts' });
    for (const alert of alerts) {
      const key = `alert:${alert.key}`;
      this.sources.set(key, { alert: alert.key });
      alertGroup.append(h('option', { value: key }, `${alert.status ?? ''} ${alert.title}`.trim()));
    }
    const suggestionGroup = h('optgroup', { label: 'Patrol suggestions' });
    for (const s of suggestions) {
      const key = `suggestion:${s.id}`;
      this.sources.set(key, { line: s.line });
      suggestionGroup.append(h('option', { value: key }, `${s.runbook} ← ${s.line}`));
    }
    this.recent.replaceChildren(
      none,
      ...(alerts.length ? [alertGroup] : []),
      ...(suggestions.length ? [suggestionGroup] : [])
    );
  }

  private pickRecent(): void {
    const source = this.sources.get(this.recent.value);
    if (!source) {
      return;
    }
    if (source.line !== undefined) {
      this.line.value = source.line;
    }
    void this.match(source);
  }

  /** Ask the server which approved runbooks fit a line or an alert, and show them. */
  async match(query: { line?: string; alert?: string }): Promise<void> {
    this.results.replaceChildren(h('p', { class: 'reifier-busy' }, 'Matching…'));
    try {
      const result = await postAPI<IMatchResult>('match', query);
      this.renderResults(result);
    } catch (error) {
      this.results.replaceChildren(h('p', { class: 'reifier-error' }, errorText(error)));
    }
  }

  private renderResults(result: IMatchResult): void {
    if (result.candidates.length === 0) {
      this.results.replaceChildren(
        h('p', { class: 'reifier-empty' }, 'No approved runbook matches this line.')
      );
      return;
    }
    this.results.replaceChildren(
      h(
        'ol',
        { class: 'reifier-candidates' },
        ...result.candidates.map(c => this.candidate(c))
      )
    );
  }

  private candidate(c: ICandidate): HTMLElement {
    const vars = c.variables.map(v => `${v.kind}=${v.value}`).join(', ');
    const open = h('button', { class: 'jp-mod-styled jp-mod-accept reifier-open' }, 'Open');
    if (c.path) {
      const path = c.path;
      open.addEventListener('click', () => this.open(path));
    } else {
      open.setAttribute('disabled', 'true');
    }
    return h(
      'li',
      { class: 'reifier-candidate', 'data-runbook': c.runbook },
      h(
        'div',
        { class: 'reifier-candidate-head' },
        h('span', { class: 'reifier-score' }, c.score.toFixed(2)),
        h('span', { class: 'reifier-title' }, c.title || c.runbook),
        open
      ),
      h('div', { class: 'reifier-reason' }, 'pattern: ', h('code', {}, c.pattern)),
      vars ? h('div', { class: 'reifier-reason' }, `variables: ${vars}`) : null
    );
  }
}
