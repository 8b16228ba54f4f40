/** The label value every value past the cap shares. */
export const OTHER_LABEL = 'other';

/**
 * Keeps a label's value set bounded: known values and the first `max` others seen keep their own
 * value, anything later becomes `other`. Each label value is a time series in Prometheus, so a
 * producer inventing task names must not be able to grow them without end.
 */
export class BoundedLabel {
  private readonly seen: Set<string>;
  private readonly known: ReadonlySet<string>;

  constructor(
    private readonly max: number,
    known: Iterable<string> = [],
  ) {
    this.known = new Set(known);
    this.seen = new Set();
  }

  /** The label value to use for `value`. */
  of(value: string | null | undefined): string {
    if (value == null || value === '') return OTHER_LABEL;
    if (this.known.has(value) || this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(value);
    return value;
  }
}
