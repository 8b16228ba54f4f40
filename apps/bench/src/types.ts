/** One cell of a result table: a number (with its unit in the column header) or text. */
export type Cell = number | string | null;

/** A table in the report: the header row and the body rows. */
export interface Table {
  readonly title?: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
  /** Digits after the decimal point per column (default: 0 for large numbers, 2 for small). */
  readonly digits?: readonly (number | undefined)[];
}

/** One bar of a bar chart: a value for a system within a group (e.g. a case). */
export interface Bar {
  readonly group: string;
  readonly series: string;
  readonly value: number;
}

/** A bar chart (grouped, horizontal). */
export interface BarChart {
  readonly kind: 'bar';
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly Bar[];
  /** Logarithmic axis, for values spanning orders of magnitude (e.g. latency under overload). */
  readonly log?: boolean;
}

/** A line chart: one or more series of (x, y) points. */
export interface LineChart {
  readonly kind: 'line';
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly {
    readonly name: string;
    readonly points: readonly (readonly [number, number])[];
  }[];
}

/** A chart the report renders as SVG. */
export type Chart = BarChart | LineChart;

/** A target from the benchmark spec and whether this run meets it. */
export interface TargetCheck {
  readonly name: string;
  /** `null` when the measurement needed to judge it did not run. */
  readonly held: boolean | null;
  /** The numbers behind the verdict, and why when missed. */
  readonly detail: string;
}

/** What one scenario produced. */
export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  /** What is measured and how, for the report. */
  readonly method: string;
  /** Set when the whole scenario could not run. */
  readonly notRun?: string;
  readonly tables: readonly Table[];
  readonly charts: readonly Chart[];
  readonly targets: readonly TargetCheck[];
  readonly notes: readonly string[];
  /** Every number the scenario measured, for the smoke check (must be finite and > 0). */
  readonly numbers: readonly number[];
  /** Measurements inside the scenario that could not run, with the reason. */
  readonly skipped: readonly string[];
}
