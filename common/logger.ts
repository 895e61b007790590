// meshlet's structured logger: one line per event, with a level, the component that speaks and
// key=value fields, as text (people) or JSON (log pipelines). Every long-running command builds
// one from --log-level/--log-format or MESHLET_LOG_LEVEL/MESHLET_LOG_FORMAT (the injector sets
// the level from the pod's `meshlet.dev/log-level`) and hands it down; modules take a LogSink,
// so tests and embedders may still pass a plain line callback.
import { LOG_LEVELS, type LogLevel } from '../api/pod-annotations.ts';
import { MeshletError } from '../api/errors.ts';

export type { LogLevel };
export type LogFormat = 'text' | 'json';
export type LogValue = string | number | boolean | null | undefined;
export type LogFields = Record<string, LogValue>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** The same logger with more fields on every line (e.g. the component, a connection). */
  child(fields: LogFields): Logger;
  /** Whether a line of that level would be written (skip building expensive fields). */
  enabled(level: LogLevel): boolean;
}

/** A Logger, or a plain callback that receives each line as text. */
export type LogSink = Logger | ((line: string) => void);

export class LogConfigError extends MeshletError {
  constructor(message: string) {
    super('E_LOG_CONFIG', message);
  }
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export function parseLogLevel(value: string, from: string): LogLevel {
  const v = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  throw new LogConfigError(`${from} wants one of ${LOG_LEVELS.join(', ')}, got '${value}'`);
}

export function parseLogFormat(value: string, from: string): LogFormat {
  const v = value.trim().toLowerCase();
  if (v === 'text' || v === 'json') return v;
  throw new LogConfigError(`${from} wants text or json, got '${value}'`);
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Receives each complete line, newline included (default: standard error). */
  write?: (line: string) => void;
  fields?: LogFields;
  now?: () => Date;
}

/** Text values with spaces, quotes or `=` are quoted, so a line splits back into its fields. */
function textValue(v: LogValue): string {
  const s = String(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const threshold = RANK[opts.level ?? 'info'];
  const format = opts.format ?? 'text';
  const write = opts.write ?? ((line: string) => void process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (RANK[level] > threshold) return;
      const all = fields ? { ...base, ...fields } : base;
      const time = now().toISOString();
      if (format === 'json') {
        const clean: Record<string, LogValue> = {};
        for (const [k, v] of Object.entries(all)) if (v !== undefined) clean[k] = v;
        write(`${JSON.stringify({ time, level, msg, ...clean })}\n`);
        return;
      }
      const { component, ...rest } = all;
      const kv = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}=${textValue(v)}`).join('');
      write(`${time} ${level.padEnd(5)} ${component ? `${String(component)}: ` : ''}${msg}${kv}\n`);
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (fields) => make({ ...base, ...fields }),
      enabled: (level) => RANK[level] <= threshold,
    };
  };
  return make(opts.fields ?? {});
}

/** The logger of a process, from flags first, then MESHLET_LOG_LEVEL / MESHLET_LOG_FORMAT. */
export function processLogger(component: string, flags: { level?: string | undefined; format?: string | undefined } = {}, env: NodeJS.ProcessEnv = process.env, write?: (line: string) => void): Logger {
  const level = flags.level ?? env.MESHLET_LOG_LEVEL;
  const format = flags.format ?? env.MESHLET_LOG_FORMAT;
  return createLogger({
    level: level ? parseLogLevel(level, flags.level ? '--log-level' : 'MESHLET_LOG_LEVEL') : 'info',
    format: format ? parseLogFormat(format, flags.format ? '--log-format' : 'MESHLET_LOG_FORMAT') : 'text',
    fields: { component },
    ...(write ? { write } : {}),
  });
}

/** A line callback seen as a Logger: every level goes to it, fields appended as key=value. */
function fromCallback(line: (text: string) => void): Logger {
  return createLogger({ level: 'debug', write: (l) => line(l.replace(/^\S+ \S+\s+/, '').replace(/\n$/, '')) });
}

export const silentLogger: Logger = createLogger({ level: 'error', write: () => undefined });

export function toLogger(sink: LogSink | undefined, fallback: Logger = createLogger()): Logger {
  if (sink === undefined) return fallback;
  return typeof sink === 'function' ? fromCallback(sink) : sink;
}
