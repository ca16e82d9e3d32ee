/**
 * The three ways `dbops watch` and `--wait` draw the views of progress-view.ts: live cli-progress bars on a
 * terminal, plain lines when the output is not a terminal, NDJSON events for `dbops watch --json`.
 */
import { MultiBar, type Options, type SingleBar } from 'cli-progress';
import {
  BAR_FORMAT,
  barPayload,
  eventKey,
  finalLine,
  headerLine,
  PlainLines,
  plainLine,
  progressEvent,
  signalsLine,
  type BarView,
  type WatchEnd,
  type WatchView,
} from './progress-view';

/** Draws successive views, then the end of the run. */
export interface WatchRenderer {
  show(view: WatchView): void;
  /** Stops drawing and writes the final line. */
  end(end: WatchEnd): void;
}

/** A stream the TTY renderer draws on (process.stdout, or a fake in the unit tests). */
export type TtyStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** One line per change (see PlainLines), no escape sequences: for pipes, files and CI logs. */
export class PlainRenderer implements WatchRenderer {
  private readonly lines: PlainLines;

  constructor(
    private readonly write: (line: string) => void,
    everyMs?: number,
  ) {
    this.lines = new PlainLines(everyMs);
  }

  show(view: WatchView): void {
    // One write per view, so a reader of the pipe sees its lines together.
    const lines = this.lines.next(view);
    if (lines.length > 0) this.write(lines.join('\n'));
  }

  end(end: WatchEnd): void {
    this.write(finalLine(end));
  }
}

/** NDJSON: one `{"event":"progress",…}` object per line when something but the rate changed. */
export class JsonRenderer implements WatchRenderer {
  private lastKey: string | undefined;

  constructor(private readonly write: (line: string) => void) {}

  show(view: WatchView): void {
    const key = eventKey(view);
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.write(JSON.stringify(progressEvent(view)));
  }

  /** The end event is written by the caller, with the result. */
  end(): void {}
}

const textLine = (_options: Options, _params: unknown, payload: { text?: string }): string => payload.text ?? '';

/**
 * Live view with cli-progress: a header line (workflow, phase, message), the signals that count now, then
 * one bar for the phase's done/total and one per table or target. Each phase change is logged above.
 */
export class TtyRenderer implements WatchRenderer {
  private view: { multi: MultiBar; header: SingleBar; signals: SingleBar } | undefined;
  private bars: { key: string; bar: SingleBar }[] = [];
  private layout = '';
  private lastPhase: string | undefined;

  constructor(private readonly stream: TtyStream) {}

  /** Starts drawing on the first view (a run that is already closed draws nothing but the final line). */
  private start(): { multi: MultiBar; header: SingleBar; signals: SingleBar } {
    if (this.view) return this.view;
    const multi = new MultiBar({
      stream: this.stream,
      format: BAR_FORMAT,
      barsize: 24,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      fps: 5,
      hideCursor: false,
      // Ctrl-C must still end the process: cli-progress would otherwise swallow SIGINT.
      gracefulExit: false,
      emptyOnZero: false,
    });
    const header = multi.create(1, 0, { text: '' }, { format: textLine });
    const signals = multi.create(1, 0, { text: '' }, { format: textLine });
    this.view = { multi, header, signals };
    return this.view;
  }

  show(view: WatchView): void {
    const { multi, header, signals } = this.start();
    if (view.phase !== this.lastPhase) {
      if (this.lastPhase !== undefined) multi.log(`${plainLine(view)}\n`);
      this.lastPhase = view.phase;
    }
    header.update({ text: headerLine(view) });
    signals.update({ text: signalsLine(view, '  ') ?? '' });
    const rows: { key: string; view: BarView }[] = [
      ...(view.overall ? [{ key: `overall:${view.overall.name}`, view: { ...view.overall, name: 'total' } }] : []),
      ...view.items.map((item) => ({ key: `item:${item.name}`, view: item })),
    ];
    const layout = rows.map((r) => r.key).join('\n');
    const width = Math.max(5, ...rows.map((r) => r.view.name.length));
    if (layout !== this.layout) {
      for (const { bar } of this.bars) multi.remove(bar);
      this.bars = rows.map((r) => ({
        key: r.key,
        bar: multi.create(r.view.total, r.view.done, barPayload(r.view, width)),
      }));
      this.layout = layout;
    } else {
      rows.forEach((r, i) => {
        const bar = this.bars[i]?.bar;
        if (!bar) return;
        bar.setTotal(r.view.total);
        bar.update(r.view.done, barPayload(r.view, width));
      });
    }
    multi.update();
  }

  end(end: WatchEnd): void {
    this.view?.multi.stop();
    this.stream.write(`${finalLine(end)}\n`);
  }
}
