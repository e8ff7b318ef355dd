// Reading what Mailpit received, through its HTTP API (the one its web UI uses).
import { setTimeout as sleep } from 'node:timers/promises';

/** One address as Mailpit's API gives it. */
export interface MailpitAddress {
  Name: string;
  Address: string;
}

/** A message in Mailpit's list (GET /api/v1/messages). */
export interface MailpitSummary {
  ID: string;
  MessageID: string;
  Subject: string;
}

/** A whole message (GET /api/v1/message/{ID}): headers as Mailpit parsed them, and the decoded text part. */
export interface MailpitMessage extends MailpitSummary {
  From: MailpitAddress;
  To: MailpitAddress[];
  Text: string;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`Mailpit answered ${response.status} to GET ${url}`);
  return (await response.json()) as T;
}

/** Waits until Mailpit holds a message that `matches`, and returns it (fails after `timeoutMs`). */
export async function waitForMailpitMessage(api: string, matches: (message: MailpitSummary) => boolean, timeoutMs = 120_000): Promise<MailpitSummary> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { messages } = await getJson<{ messages: MailpitSummary[] }>(`${api}/api/v1/messages`);
    const found = messages.find(matches);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no such message in Mailpit after ${timeoutMs / 1000} s; it holds: ${JSON.stringify(messages.map((m) => m.Subject))}`);
    await sleep(500);
  }
}

/** The message with that Mailpit ID. */
export function readMailpitMessage(api: string, id: string): Promise<MailpitMessage> {
  return getJson<MailpitMessage>(`${api}/api/v1/message/${encodeURIComponent(id)}`);
}
