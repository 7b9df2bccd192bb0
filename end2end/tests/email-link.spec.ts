import { test, expect } from '@playwright/test';
import {
  actionLink,
  printPageErrorsOnFailure,
  projectContext,
  signIn,
  submitOrder,
  tamperedLink,
  uniqueProduct,
  waitForMail,
  watchResponses,
} from './helpers';

printPageErrorsOnFailure();

// The main stack sends e-mail to a local SMTP sink (end2end/stack.sh); each decider's
// "approval needed" mail carries links that decide as them, once, without signing in.

test('a manager approves from the e-mail without signing in, and the link works only once', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Standing desk');
  // $1,300: a manager's level only (a director's starts at $10,000).
  const id = await submitOrder(alice.page, product, '650', '2');
  const orderId = id.replace(/^po-/, '');
  await expect(alice.page.getByTestId('order-status')).toHaveText('Waiting for approval');

  const mail = await waitForMail('bob@example.com', orderId);
  const approve = actionLink(mail, 'Approve');

  // A browser that has never signed in: the link is all it has.
  const context = await browser.newContext(projectContext(testInfo));
  const page = await context.newPage();
  const unexpected = watchResponses(page);
  const response = await page.goto(approve);
  expect(response?.status()).toBe(200);
  // The token in the address never leaves as a Referer.
  expect(response?.headers()['referrer-policy']).toBe('no-referrer');
  await expect(page.locator('h1')).toContainText(orderId);
  const summary = page.getByTestId('link-summary');
  await expect(summary).toContainText('$1,300.00');
  await expect(summary).toContainText('alice');
  const comment = page.locator('form [name=comment]');
  await expect(comment).toBeVisible();
  const confirm = page.getByTestId('link-confirm');
  await expect(confirm).toContainText('Approve order');
  await expect(confirm).toContainText(orderId);
  await page.screenshot({ path: testInfo.outputPath('email-link.png'), fullPage: true });
  await testInfo.attach('approve from the e-mail', { path: testInfo.outputPath('email-link.png'), contentType: 'image/png' });

  // Opening the link decided nothing (a mail scanner opens links too).
  await alice.page.reload();
  await expect(alice.page.getByTestId('order-status')).toHaveText('Waiting for approval');

  await comment.fill('Looks fine');
  await confirm.click();
  await expect(page.getByTestId('link-result')).toContainText('Approved by bob');

  // No reload on alice's side: her order page follows the decision.
  await expect(alice.page.getByTestId('order-status')).toHaveText('Approved by bob');
  await expect(alice.page.locator('.timeline')).toContainText('(e-mail)');
  await expect(alice.page.getByText('Looks fine').first()).toBeVisible();

  // Used once, the link is gone; the page says where to go instead.
  const later = await context.newPage();
  const laterUnexpected = watchResponses(later, [404, 410]);
  const again = await later.goto(approve);
  expect(again?.status()).toBe(410);
  await expect(later.getByTestId('link-refused')).toBeVisible();
  await expect(later.getByRole('link', { name: 'Sign in' }).first()).toHaveAttribute('href', /\/login(\?|$)/);
  // A link that was never sent is not found.
  const forged = await later.goto(tamperedLink(approve));
  expect(forged?.status()).toBe(404);
  await expect(later.getByTestId('link-refused')).toBeVisible();

  expect(unexpected).toEqual([]);
  expect(laterUnexpected).toEqual([]);
  expect(alice.unexpected).toEqual([]);
});

// The confirmation page sends no Referer (Referrer-Policy: no-referrer), so Chromium
// posts its form with `Origin: null`; a manager signed in in the same browser posts the
// session cookie with it, and the same-origin guard must still let the decision through.
test('a manager signed in in the same browser rejects from the e-mail', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const id = await submitOrder(alice.page, uniqueProduct('Standing desk'), '650', '2');
  const orderId = id.replace(/^po-/, '');
  const reject = actionLink(await waitForMail('bob@example.com', orderId), 'Reject');

  const bob = await signIn(browser, testInfo, 'bob');
  const response = await bob.page.goto(reject);
  expect(response?.status()).toBe(200);
  await bob.page.locator('form [name=comment]').fill('Not this quarter');
  await bob.page.getByTestId('link-confirm').click();
  await expect(bob.page.getByTestId('link-result')).toContainText('Rejected by bob');
  await expect(alice.page.getByTestId('order-status')).toHaveText('Rejected by bob');
  expect(bob.unexpected).toEqual([]);
  expect(alice.unexpected).toEqual([]);
});
