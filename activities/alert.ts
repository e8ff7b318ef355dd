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
      const transport = nodemailer.createTransport(deps.mail.smtpUrl);
      try {
        await transport.sendMail(mail);
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
