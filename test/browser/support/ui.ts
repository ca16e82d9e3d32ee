/**
 * What an operator does in the Temporal Web UI (2.42, as the pinned Temporal CLI serves it), one helper
 * per gesture: fill the Start Workflow form, open a run, read its current details, send a signal from the
 * dropdown, search the list. Each gesture leaves a screenshot in the journey.
 */
import { expect } from 'vitest';
import type { Journey } from './journey';
import { TASK_QUEUE } from './stack';

export interface StartForm {
  workflowId: string;
  workflowType: string;
  input: unknown;
  /** Typed into More options → Summary (Markdown), as the README's example inputs say. */
  summary?: string;
}

/** Start Workflow → fills the form (task queue `dbops`) → Start; waits for the UI's confirmation. */
export async function startFromUi(j: Journey, form: StartForm): Promise<void> {
  const { page } = j;
  await j.go('/workflows');
  await page
    .getByRole('link', { name: 'Start Workflow' })
    .or(page.getByRole('button', { name: 'Start Workflow' }))
    .first()
    .click();
  await page.locator('#workflowId').fill(form.workflowId);
  await page.locator('#taskQueue').fill(TASK_QUEUE);
  await page.locator('#workflowType').fill(form.workflowType);
  const editors = page.locator('.cm-content');
  const heading = page.getByRole('heading', { name: 'Start a Workflow' });
  await editors.first().fill(JSON.stringify(form.input));
  // Leaving the editor reformats the JSON and the form grows under the pointer: click outside first.
  await heading.click();
  if (form.summary) {
    await page.getByRole('button', { name: 'More options' }).click();
    await editors.nth(1).fill(form.summary);
    await heading.click();
  }
  await expect.poll(() => page.getByText('Task Queue is Active').isVisible()).toBe(true);
  await j.shot('start-form');
  await page.getByTestId('start-workflow-button').click();
  await page.getByText('Workflow started successfully').waitFor();
}

/** Opens the run's page (its latest run). */
export async function openWorkflow(j: Journey, workflowId: string): Promise<void> {
  await j.go(`/workflows/${encodeURIComponent(workflowId)}`);
  await j.page.getByRole('heading', { name: workflowId }).waitFor();
}

/**
 * Opens the User Metadata tab and returns what its panels show: the static summary, the details and the
 * workflow's current details. The UI renders each Markdown panel in its own sandboxed frame.
 */
async function metadataText(j: Journey): Promise<string> {
  const { page } = j;
  await page
    .getByRole('link', { name: 'User Metadata' })
    .or(page.getByRole('tab', { name: 'User Metadata' }))
    .first()
    .click();
  await page.getByText('Current Details', { exact: true }).waitFor();
  const frames = page.locator('iframe[title="output"]');
  // The current details (the last panel) appear once the UI's metadata query is answered.
  await frames.last().contentFrame().getByText('Phase:').waitFor({ timeout: 15_000 });
  const texts: string[] = [];
  for (let i = 0; i < (await frames.count()); i += 1)
    texts.push(await frames.nth(i).contentFrame().locator('body').innerText());
  return texts.join('\n\n');
}

/**
 * Reloads the run's page until its current details show `phase` (an operator refreshes the same way);
 * returns the text of its metadata panels (summary, details, current details).
 */
export async function waitForPhase(j: Journey, workflowId: string, phase: string, timeout = 120_000): Promise<string> {
  let text = '';
  await expect
    .poll(
      async () => {
        await openWorkflow(j, workflowId);
        text = await metadataText(j);
        return text;
      },
      { timeout, interval: 1_000 },
    )
    .toContain(`Phase: ${phase}`);
  return text;
}

/**
 * More Actions → Send a Signal → picks `name` from the dropdown (returns the description shown beside it)
 * → optional JSON input → Submit.
 */
export async function sendSignal(j: Journey, name: string, input?: unknown): Promise<string> {
  const { page } = j;
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
  const dialog = page.locator('dialog[open]').filter({ hasText: 'Send a Signal' });
  await dialog.locator('#signal-select').locator('xpath=..').click(); // the read-only input opens its list
  const option = dialog.getByRole('option').filter({ has: page.getByText(name, { exact: true }) });
  await option.waitFor();
  const description = (await option.innerText()).replace(name, '').trim();
  await j.shot(`signal-${name}-dropdown`);
  await option.click();
  if (input !== undefined) await dialog.locator('.cm-content').first().fill(JSON.stringify(input));
  await dialog.getByText('Encoding').click(); // leave the editor first: it reformats and the dialog grows
  await j.shot(`signal-${name}-form`);
  await dialog.getByRole('button', { name: 'Submit' }).click();
  await dialog.waitFor({ state: 'hidden' });
  return description;
}

/** Workflows list → the query box → `query`; returns the workflow ids listed. */
export async function searchWorkflows(j: Journey, query: string): Promise<string[]> {
  const { page } = j;
  await j.go('/workflows');
  await page.getByTestId('toggle-manual-query').click();
  const box = page.getByTestId('manual-search-input');
  await box.fill(query);
  await box.press('Enter');
  await page.waitForURL((url) => url.searchParams.get('query') === query);
  const rows = page.locator('table tbody tr');
  await rows.first().waitFor();
  return rows.evaluateAll((trs) => trs.map((tr) => tr.textContent ?? ''));
}
