import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import nodemailer from 'nodemailer';
import type { AlertMessage } from './alert-message.ts';

/** Where alerts go: an SMTP server, or `.eml` files when none is configured. */
export interface AlertDeps {
  mail: {
    /** `smtp://user:pass@host:port` (credentials from the environment; never logged). */
    smtpUrl?: string;
    /** Send the URL's credentials over `smtp://` even without STARTTLS (SMTP_ALLOW_PLAINTEXT_AUTH; default false). */
    allowPlaintextAuth: boolean;
    /** Where messages are written without SMTP (`var/mail`). */
    mailDir: string;
  };
}

/** How the alert went out. */
export interface AlertDelivery {
  via: 'smtp' | 'file';
  /** The `.eml` file, when written to disk. */
  path?: string;
}

/**
 * Sends an alert. With SMTP a connection or server error throws, and the activity's
 * retry policy tries again until the server is back; the fixed Message-ID lets mail
 * clients fold a resend after a lost acknowledgement into one message.
 */
export const createAlertActivities = (deps: AlertDeps) => ({
  async sendAlert(message: AlertMessage): Promise<AlertDelivery> {
    const mail = { messageId: message.messageId, from: message.from, to: message.to, subject: message.subject, text: message.text };
    if (deps.mail.smtpUrl) {
      const options = smtpTransportOptions(deps.mail.smtpUrl, deps.mail.allowPlaintextAuth);
      const transport = nodemailer.createTransport(options);
      try {
        await transport.sendMail(mail);
      } catch (error) {
        // The server refused STARTTLS (nodemailer: code ETLS, the server's answer in `response`): say why nothing was sent.
        const { code, command, response } = error as { code?: unknown; command?: unknown; response?: unknown };
        if (!options.requireTLS || code !== 'ETLS' || command !== 'STARTTLS' || typeof response !== 'string') throw error;
        const { host } = new URL(deps.mail.smtpUrl);
        throw new Error(`${host} refused STARTTLS (${response.trim()}), so the user and password in SMTP_URL were not sent: without TLS they would cross the network readable; SMTP_ALLOW_PLAINTEXT_AUTH=true sends them anyway`, { cause: error });
      } finally {
        transport.close();
      }
      log.info('alert sent', { messageId: message.messageId, to: message.to });
      return { via: 'smtp' };
    }
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    const info = await transport.sendMail(mail);
    await mkdir(deps.mail.mailDir, { recursive: true });
    const path = join(deps.mail.mailDir, `${message.messageId.replace(/^<|@.*$/g, '').replace(/[^\w.-]/g, '_')}.eml`); // <incident-…@host> → incident-….eml
    await writeFile(path, info.message as Buffer);
    log.info('alert written', { messageId: message.messageId, path });
    return { via: 'file', path };
  },
});

/**
 * The SMTP transport for a URL. A user and password on `smtp://` require STARTTLS: AUTH
 * PLAIN/LOGIN carry them base64-encoded, which is clear text to anyone on the network path,
 * and nodemailer would otherwise send them unencrypted to a server (or a machine in the
 * middle) that does not offer STARTTLS. Without TLS the send fails before AUTH and the
 * activity retries, so the alert waits until the server offers TLS or the operator sets
 * SMTP_ALLOW_PLAINTEXT_AUTH=true. `smtps://` is TLS from the start; without credentials
 * there is nothing to leak (STARTTLS is still used when offered).
 */
function smtpTransportOptions(smtpUrl: string, allowPlaintextAuth: boolean): { url: string; requireTLS?: true } {
  const url = new URL(smtpUrl);
  if (url.protocol !== 'smtp:' || (url.username === '' && url.password === '')) return { url: smtpUrl };
  if (allowPlaintextAuth) {
    log.warn('SMTP credentials may travel unencrypted (SMTP_ALLOW_PLAINTEXT_AUTH=true)', { host: url.host });
    return { url: smtpUrl };
  }
  if (!url.searchParams.has('requireTLS')) return { url: smtpUrl, requireTLS: true };
  // nodemailer lets the URL's parameters override the options: a `?requireTLS=false` must not undo this.
  url.searchParams.delete('requireTLS');
  return { url: url.href, requireTLS: true };
}
