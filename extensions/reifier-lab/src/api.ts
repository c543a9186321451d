/**
 * Typed client of the server extension's REST API under `/reifier/api/`.
 *
 * Requests go through `ServerConnection.makeRequest`, which adds the token and
 * the XSRF header jupyter_server requires on POST.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export type Status =
  | 'draft'
  | 'approved'
  | 'stale'
  | 'bad-signature'
  | 'superseded'
  | 'revoked'
  | 'unreadable';

export interface IHistoryEntry {
  status: string;
  started: string | null;
  ended: string | null;
  trigger: string | null;
  parameters: Record<string, string> | null;
  failed_cell: number | null;
  record_url: string | null;
}

export interface IRunbook {
  id: string;
  title: string;
  path: string | null;
  folder: string;
  status: Status;
  reason: string;
  changed_cells?: number[];
  confidence?: number;
  runs?: number;
  last_run?: IHistoryEntry | null;
  autonomy?: string;
  symptoms?: string[];
  alerts?: Record<string, string>[];
  approval?: { by?: string; at?: string; digest?: string };
}

export interface IRefusal {
  cell: number;
  reason: string;
  rules: string[];
}

export interface ISignedCell {
  cell: number;
  source: string;
  tags: string[];
}

export interface IRunbookDetail extends IRunbook {
  history: IHistoryEntry[];
  digest: string;
  refusals: IRefusal[];
  parameters: Record<string, string>;
  cells: ISignedCell[];
  constraints: Record<string, unknown>;
  approver: string;
}

export interface IStatus {
  path: string | null;
  status: Status;
  reason: string;
  changed_cells: number[];
  approval: { by?: string; at?: string; digest?: string };
}

export interface ICandidate {
  runbook: string;
  title: string;
  path: string | null;
  score: number;
  pattern: string;
  matched_tokens: string[];
  variables: { kind: string; value: string }[];
}

export interface IMatchResult {
  line: string;
  candidates: ICandidate[];
}

export interface ISuggestion {
  id: number;
  runbook: string;
  score: number;
  action: string;
  reason: string;
  pattern: string;
  line: string;
  path: string | null;
}

export interface IAlert {
  key: string;
  title: string;
  labels: Record<string, string>;
  startsAt: string | null;
  status: string | null;
}

export interface IRunOutcome {
  run_id: string;
  runbook: string;
  status: string;
  reason: string;
  failed_cell: number | null;
  parameters: Record<string, string>;
  record_url: string | null;
}

/** An error reply of the API: the HTTP status and the server's one-line reason. */
export class ReifierError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** Return the absolute URL of an API endpoint (`records/…` links included). */
export function apiURL(endPoint: string): string {
  const settings = ServerConnection.makeSettings();
  return URLExt.join(settings.baseUrl, 'reifier', 'api', endPoint);
}

/** Call the API; resolve with the decoded JSON or reject with a `ReifierError`. */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  query: Record<string, string> = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = apiURL(endPoint) + URLExt.objectToQueryString(query);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    const message = (data as { message?: string } | null)?.message ?? response.statusText;
    throw new ReifierError(message, response.status);
  }
  return data as T;
}

/** POST a JSON body. */
export function postAPI<T>(endPoint: string, body: unknown): Promise<T> {
  return requestAPI<T>(endPoint, { method: 'POST', body: JSON.stringify(body) });
}

/** Return the message of anything thrown. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
