/** The active log file's name in a session folder; backups are `session.log.1` … or dated. */
export const SESSION_LOG_NAME = 'session.log';
