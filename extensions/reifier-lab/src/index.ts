/**
 * reifier-lab: symptom matches, approval state and run history beside the runbook.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { LabIcon } from '@jupyterlab/ui-components';

import { RunbookToolbar } from './notebook';
import { RunbooksPanel } from './panel';

const PANEL_ID = 'reifier-runbooks';

const runbookIcon = new LabIcon({
  name: 'reifier-lab:runbook',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M19 3h-4.2A3 3 0 0 0 12 1a3 3 0 0 0-2.8 2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm-7 0a1 1 0 1 1 0 2 1 1 0 0 1 0-2zm-2 14-4-4 1.4-1.4 2.6 2.6 6.6-6.6L18 9l-8 8z"/>' +
    '</svg>'
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'reifier-lab:plugin',
  description: 'Runbooks sidebar, symptom matches and approval/run controls on runbook notebooks.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, labShell: ILabShell, restorer: ILayoutRestorer | null) => {
    const open = (path: string): void => {
      void app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
    };
    const panel = new RunbooksPanel(open);
    panel.id = PANEL_ID;
    panel.title.icon = runbookIcon;
    panel.title.caption = 'Runbooks';
    app.docRegistry.addWidgetExtension('Notebook', new RunbookToolbar(() => void panel.refresh()));
    // Add the panel once the layout is restored, so the restorer can reopen it.
    void app.restored.then(() => {
      labShell.add(panel, 'left', { rank: 650 });
      restorer?.add(panel, PANEL_ID);
    });
  }
};

export default plugin;
