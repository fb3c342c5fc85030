import type { Logger } from 'pino';

// Outgoing e-mail is pluggable. The default sender only logs that a message was due (user id and
// subject, never the address): a deployment plugs in its SMTP or API sender here.

export interface Mail {
  userId: string;
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export const logMailer = (log: Pick<Logger, 'info'>): Mailer => ({
  async send(mail) {
    log.info({ userId: mail.userId, subject: mail.subject }, 'e-mail due (log mailer: not sent)');
  },
});
