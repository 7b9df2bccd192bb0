import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, BrowserContextOptions, Locator, Page, expect, test, TestInfo } from '@playwright/test';

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

/** What a new browser context of this test's project is: its base URL and, for the
 * phone project, its screen (`browser.newContext` takes none of the project's `use`). */
export function projectContext(testInfo: TestInfo): BrowserContextOptions {
  const { baseURL, viewport, isMobile, hasTouch, deviceScaleFactor } = testInfo.project.use;
  return { baseURL, viewport, isMobile, hasTouch, deviceScaleFactor };
}

export async function signIn(
  browser: Browser,
  testInfo: TestInfo,
  name: string,
  allowed: number[] = [],
  contextOptions: BrowserContextOptions = {},
  prepare: (context: BrowserContext) => Promise<void> = async () => {},
) {
  const context = await browser.newContext({ ...projectContext(testInfo), ...contextOptions });
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

/** Waits until an inbox row's countdown ticks: the island has hydrated, so a click
 * on its buttons is the island's (with its notice), not a plain form post that
 * reloads the page (which a loaded machine can otherwise make the test race into). */
export async function hydrated(row: Locator) {
  const timer = row.getByRole('timer');
  const start = seconds(await timer.textContent());
  await expect.poll(async () => seconds(await timer.textContent()), { timeout: 10_000 }).toBeLessThan(start);
}

/** The Origin header the page itself would send: calls made with `page.request` stand
 * for the page's own fetches, which the server accepts only from its own origin. */
export function sameOrigin(page: Page): Record<string, string> {
  return { origin: new URL(page.url()).origin };
}

/** Where the main stack's SMTP sink (end2end/stack.sh, scripts/smtp-sink.py) keeps each
 * message it accepts: one `*.eml` per recipient, its first line `X-Rcpt-To: ADDRESS`. */
export const MAIL_DIR = path.resolve(__dirname, '../../target/e2e/main/mail');

export interface Mail {
  to: string;
  file: string;
  /** The headers and the body, decoded (Dapr's SMTP binding sends quoted-printable). */
  text: string;
}

/** A message's body as its Content-Transfer-Encoding says (one char a byte in and out). */
function decodeBody(raw: string): string {
  const end = raw.search(/\r?\n\r?\n/);
  if (end < 0) return raw;
  const head = raw.slice(0, end);
  const body = raw.slice(end).replace(/^\r?\n\r?\n/, '');
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(head)?.[1].toLowerCase();
  if (encoding === 'quoted-printable') {
    // Soft line breaks (`=` at a line's end) go; `=3D` and the like become their byte.
    const decoded = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return `${head}\r\n\r\n${decoded}`;
  }
  if (encoding === 'base64') {
    return `${head}\r\n\r\n${Buffer.from(body, 'base64').toString('latin1')}`;
  }
  return raw;
}

/** The messages the main stack's sink holds for `address`, oldest first. */
export function mailsTo(address: string): Mail[] {
  const files = fs.existsSync(MAIL_DIR) ? fs.readdirSync(MAIL_DIR).filter((f) => f.endsWith('.eml')).sort() : [];
  return files
    .map((name) => {
      const file = path.join(MAIL_DIR, name);
      const text = Buffer.from(decodeBody(fs.readFileSync(file).toString('latin1')), 'latin1').toString('utf8');
      return { to: /^X-Rcpt-To: (.*)\r?\n/.exec(text)?.[1]?.trim() ?? '', file, text };
    })
    .filter((mail) => mail.to === address);
}

/** Waits (up to `timeout` ms) for the first message to `address` whose text includes
 * `mentions`; on failure says what `address` did get. */
export async function waitForMail(address: string, mentions: string, timeout = 30_000): Promise<Mail> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const mail = mailsTo(address).find((m) => m.text.includes(mentions));
    if (mail) return mail;
    if (Date.now() > deadline) {
      const got = mailsTo(address).map((m) => /^Subject: (.*)$/m.exec(m.text)?.[1] ?? m.file);
      throw new Error(`no mail to ${address} mentioning ${mentions} in ${timeout} ms (in ${MAIL_DIR}); it got: ${JSON.stringify(got)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The e-mail's action link on its `Approve: URL` or `Reject: URL` line. */
export function actionLink(mail: Mail, label: 'Approve' | 'Reject'): string {
  const found = new RegExp(`${label}:[^\\n]*?(https?://[^\\s"'<>]+/act/al_[A-Za-z0-9_-]+=*)`).exec(mail.text);
  if (!found) throw new Error(`no "${label}:" link in ${mail.file}:\n${mail.text}`);
  return found[1];
}

/** The link with its token's last digit changed. Its top bit, always: the last base64
 * digit's low bits may be padding that a decoder ignores. */
export function tamperedLink(link: string): string {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const at = link.replace(/=+$/, '').length - 1;
  return link.slice(0, at) + digits[digits.indexOf(link[at]) ^ 32] + link.slice(at + 1);
}
