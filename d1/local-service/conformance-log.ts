/**
 * The violations a local D1 service in test mode collected: every one counted, the first few
 * kept with their request and a short excerpt of the body, so a failed run says what to fix.
 */
import { D1Conformance, type ConformanceMessage, type Violation } from './conformance.ts';

/** One message that broke the schema, as kept for the report. */
export interface ConformanceFinding {
  direction: ConformanceMessage['direction'];
  request: string;
  status?: number;
  violations: Violation[];
  excerpt: string;
}

const excerptChars = 300;

/** Checks messages and collects their violations, capped at `limit` findings (the count keeps going). */
export class ConformanceLog {
  readonly #checker: D1Conformance;
  readonly #limit: number;
  readonly #findings: ConformanceFinding[] = [];
  #messages = 0;
  #violations = 0;

  constructor(options: { checker?: D1Conformance; limit?: number } = {}) {
    this.#checker = options.checker ?? new D1Conformance();
    this.#limit = options.limit ?? 20;
  }

  /** Checks one message against the schema and records what it found. */
  check(message: ConformanceMessage): Violation[] {
    const violations = this.#checker.check(message);
    this.record(message, violations);
    return violations;
  }

  /** Counts a checked message and keeps it when it broke the schema. */
  record(message: ConformanceMessage, violations: readonly Violation[]): void {
    this.#messages += 1;
    if (violations.length === 0) return;
    this.#violations += violations.length;
    if (this.#findings.length >= this.#limit) return;
    const text = message.body === undefined ? '(no body)' : JSON.stringify(message.body);
    this.#findings.push({
      direction: message.direction,
      request: `${message.method} ${message.path}`,
      ...(message.status === undefined ? {} : { status: message.status }),
      violations: violations.slice(0, 10),
      excerpt: text.length > excerptChars ? `${text.slice(0, excerptChars)}…` : text,
    });
  }

  /** How many messages were checked, how many violations they had, and the first findings. */
  state(): { messages: number; violations: number; findings: ConformanceFinding[] } {
    return { messages: this.#messages, violations: this.#violations, findings: this.#findings.map((f) => ({ ...f })) };
  }

  /** A readable account of the findings, or undefined when there are none. */
  report(): string | undefined {
    if (this.#violations === 0) return undefined;
    const lines = [`${this.#violations} violation(s) of the pinned D1 schema in ${this.#messages} checked message(s); the first ${this.#findings.length}:`];
    for (const f of this.#findings) {
      lines.push(`- ${f.direction} ${f.request}${f.status === undefined ? '' : ` → ${f.status}`}: ${f.excerpt}`);
      for (const v of f.violations) lines.push(`    at "${v.at}": ${v.message}`);
    }
    return lines.join('\n');
  }
}
