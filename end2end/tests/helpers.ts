import { Browser, BrowserContext, BrowserContextOptions, Page, expect, test, TestInfo } from '@playwright/test';

export const PASSWORD = 'approvals-demo';

/** A unique product name per test run, so tests can filter the shared inbox. */
export function uniqueProduct(label: string): string {
  return `${label} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Every page's list of unexpected events in the running test. */
const watched: string[][] = [];

/** A story that fails on an earlier step never reaches its check of the pages' errors;
 * they are printed anyway, since a panic in the WASM app is often why a step timed out. */
export function printPageErrorsOnFailure() {
  test.afterEach(async ({}, testInfo) => {
    const errors = watched.splice(0).flat();
    if (testInfo.status !== testInfo.expectedStatus && errors.length > 0) {
      console.log(`page errors in "${testInfo.title}":\n${errors.join('\n')}`);
    }
  });
}

/** Fails the test on any 4xx/5xx response the story did not expect, and on any script
 * error in the page (a panic in the WASM app freezes the page without a visible sign). */
export function watchResponses(page: Page, allowed: number[] = []): string[] {
  const unexpected: string[] = [];
  watched.push(unexpected);
  page.on('response', (response) => {
    const url = response.url();
    if (response.status() >= 400 && !allowed.includes(response.status()) && !url.endsWith('/favicon.ico')) {
      unexpected.push(`${response.status()} ${url}`);
    }
  });
  page.on('pageerror', (error) => unexpected.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes('Failed to load resource')) {
      unexpected.push(`console error: ${message.text()}`);
    }
  });
  return unexpected;
}

export async function signIn(
  browser: Browser,
  testInfo: TestInfo,
  name: string,
  allowed: number[] = [],
  contextOptions: BrowserContextOptions = {},
  prepare: (context: BrowserContext) => Promise<void> = async () => {},
) {
  const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL, ...contextOptions });
  // Before any page exists (a fake clock, say), so no page is changed while it hydrates.
  await prepare(context);
  const page = await context.newPage();
  const unexpected = watchResponses(page, allowed);
  await page.goto('/login');
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).not.toHaveURL(/\/login/);
  return { page, unexpected };
}

/** Submits the new-order form and returns the instance id of the order's page. */
export async function submitOrder(page: Page, product: string, unitCost: string, quantity: string) {
  await page.goto('/orders/new');
  await page.getByLabel('Product').fill(product);
  await page.getByLabel('Unit cost').fill(unitCost);
  await page.getByLabel('Quantity').fill(quantity);
  await page.getByRole('button', { name: 'Submit order' }).click();
  await page.waitForURL(/\/orders\/po-/);
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
}

/** h:mm:ss → seconds. */
export function seconds(text: string | null): number {
  const [h, m, s] = (text ?? '').trim().split(':').map(Number);
  return h * 3600 + m * 60 + s;
}

export function inboxRow(page: Page, instanceId: string) {
  return page.locator(`tr[data-instance="${instanceId}"]`);
}

/** The Origin header the page itself would send: calls made with `page.request` stand
 * for the page's own fetches, which the server accepts only from its own origin. */
export function sameOrigin(page: Page): Record<string, string> {
  return { origin: new URL(page.url()).origin };
}
