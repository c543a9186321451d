/**
 * Toolbar items on an open runbook notebook (one with `metadata.reifier`):
 * a status badge that follows every save, Approve, Run, and "Runs & patterns".
 */
import { ToolbarButton } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import { errorText, IStatus, requestAPI } from './api';
import { approveRunbook, runRunbook, showRunbookInfo } from './dialogs';
import { badge } from './dom';

type Context = DocumentRegistry.IContext<INotebookModel>;

/** Whether the notebook is a Reifier runbook. */
function isRunbook(panel: NotebookPanel): boolean {
  const meta = panel.model?.getMetadata('reifier');
  return typeof meta === 'object' && meta !== null;
}

/** The badge in the toolbar: re-queried from the server, never computed here. */
class StatusBadge extends Widget {
  constructor(private readonly context: Context) {
    super();
    this.addClass('reifier-toolbar-status');
    this.node.append(badge('…'));
  }

  async refresh(): Promise<IStatus | null> {
    try {
      const status = await requestAPI<IStatus>('status', {}, { path: this.context.path });
      const detail = status.changed_cells.length
        ? `${status.reason} (code cells ${status.changed_cells.join(', ')})`
        : status.reason;
      this.node.replaceChildren(badge(status.status, detail));
      return status;
    } catch (error) {
      this.node.replaceChildren(badge('unreadable', errorText(error)));
      return null;
    }
  }
}

/** Save first, so what is approved or run is what the user sees. */
async function saved(context: Context): Promise<void> {
  if (context.model.dirty) {
    await context.save();
  }
}

export class RunbookToolbar implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(private readonly changed: () => void) {}

  createNew(panel: NotebookPanel, context: Context): IDisposable {
    const items: Widget[] = [];
    void context.ready.then(() => {
      if (panel.isDisposed || !isRunbook(panel)) {
        return;
      }
      const status = new StatusBadge(context);
      const approve = new ToolbarButton({
        className: 'reifier-approve-button',
        label: 'Approve',
        tooltip: 'Approve this runbook (guard check, then sign both files)',
        onClick: async () => {
          await saved(context);
          const result = await approveRunbook(context.path);
          if (result) {
            await context.revert(); // load the signed metadata the server wrote
            await status.refresh();
            this.changed();
          }
        }
      });
      const run = new ToolbarButton({
        className: 'reifier-run-button',
        label: 'Run runbook',
        tooltip: 'Run this approved runbook with parameters; keep a record',
        onClick: async () => {
          await saved(context);
          await runRunbook(context.path, busy => {
            run.node.classList.toggle('reifier-running', busy);
            run.enabled = !busy;
          });
          this.changed();
        }
      });
      const info = new ToolbarButton({
        className: 'reifier-info-button',
        label: 'Runs & patterns',
        tooltip: 'Symptoms, alerts and execution history of this runbook',
        onClick: () => void showRunbookInfo(context.path)
      });
      panel.toolbar.addItem('reifier-status', status);
      panel.toolbar.addItem('reifier-approve', approve);
      panel.toolbar.addItem('reifier-run', run);
      panel.toolbar.addItem('reifier-info', info);
      items.push(status, approve, run, info);
      context.saveState.connect((_, state) => {
        if (state === 'completed') {
          void status.refresh(); // an edited code cell turns the badge stale at once
          this.changed();
        }
      });
      void status.refresh();
    });
    return new DisposableDelegate(() => items.forEach(item => item.dispose()));
  }
}
