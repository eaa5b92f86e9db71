'use strict';
// What a person does in the workbench (code-server's, in headless Chromium), for the UI tests:
// open the Taskwire sidebar, read a view's rows, run a command from the palette, answer a prompt.

/** Polls `check` every 250 ms until it returns something truthy, and returns that. */
async function eventually(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The text of every visible row of one sidebar view (by its title). */
async function viewRows(page, title) {
  const pane = page.locator('.pane').filter({ has: page.locator(`.pane-header[aria-label^="${title}"]`) });
  return pane.locator('.monaco-list-row').allInnerTexts();
}

async function waitForRow(page, title, pattern, timeoutMs = 30_000) {
  return eventually(async () => (await viewRows(page, title)).find((text) => pattern.test(text)), `a row matching ${pattern} in the ${title} view`, timeoutMs);
}

/** Runs a command from the palette by its title. */
async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
}

/**
 * Answers a quick input once it shows `expected` (a RegExp for its title, prompt or an item).
 * Waiting for the prompt's own text matters: right after the previous answer the widget is
 * still on screen, and text typed then is wiped when the next prompt takes it over.
 */
async function answer(page, expected, text) {
  const widget = page.locator('.quick-input-widget').filter({ hasText: expected });
  await widget.waitFor({ state: 'visible' });
  const input = widget.locator('input');
  await input.fill(text);
  await page.keyboard.press('Enter');
}

async function openSidebar(page) {
  const item = page.locator('.activitybar a.action-label[aria-label^="Taskwire"]');
  await item.waitFor({ timeout: 60_000 });
  await item.click();
  await page.locator('.pane-header[aria-label^="Manager"]').waitFor();
}

module.exports = { answer, eventually, openSidebar, runCommand, viewRows, waitForRow };
