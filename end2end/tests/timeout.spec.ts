import { test, expect } from '@playwright/test';
import { inboxRow, printPageErrorsOnFailure, signIn, submitOrder, uniqueProduct } from './helpers';

printPageErrorsOnFailure();

// This project's stack runs with APPROVAL_TIMEOUT=30s: long enough that the steps before
// bob's clock jumps ahead finish before the server's timer fires, even on a loaded
// machine running the other project's stories beside this one (8s was not: CI once saw
// the timeout outcome arrive first).
test('nobody decides in time: the row says "Expired", then "Cancelled due to timeout", and the count of waiting orders follows', async ({ browser }, testInfo) => {
  test.setTimeout(150_000);
  const product = uniqueProduct('Forklift');
  // Between the deadline and the workflow's timeout outcome the row shows "Expired" for
  // well under a second. Bob's browser clock is faked so it can run ahead of the server's;
  // it is installed before his first page loads.
  const bob = await signIn(browser, testInfo, 'bob', [], {}, (context) => context.clock.install());
  await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
  await expect(bob.page.getByText('Nothing is waiting for a decision.')).toBeVisible();
  await expect(bob.page.getByRole('link', { name: 'Pending (0)' })).toBeVisible();

  const alice = await signIn(browser, testInfo, 'alice');
  const id = await submitOrder(alice.page, product, '25000', '1');
  await expect(alice.page.getByTestId('order-status')).toHaveText('Waiting for approval');

  // The order arrives live; its countdown still runs and the buttons work.
  const row = inboxRow(bob.page, id);
  await expect(row).toBeVisible();
  // This stack runs this story alone: this order is all that waits for bob, and the
  // Pending tab's count follows it live.
  await expect(bob.page.getByRole('link', { name: 'Pending (1)' })).toBeVisible();
  const timer = row.getByRole('timer');
  await expect(timer).toHaveText(/^0:00:[0-3]\d$/);
  await expect(row.getByRole('button', { name: 'Approve' })).toBeEnabled();

  // Past the deadline in bob's browser, before the server's timer has fired.
  await bob.page.clock.fastForward('00:45');
  await expect(timer).toHaveText('Expired');
  await expect(row.getByRole('button', { name: 'Approve' })).toBeDisabled();
  await expect(row.getByRole('button', { name: 'Reject' })).toBeDisabled();
  await expect(row.getByLabel('Comment')).toBeDisabled();
  await expect(alice.page.getByTestId('order-status')).not.toHaveText('Cancelled due to timeout');

  // Then the workflow's timeout outcome arrives and takes the row away.
  await expect(alice.page.getByTestId('order-status')).toHaveText('Cancelled due to timeout', { timeout: 60_000 });
  await expect(row).toHaveCount(0);
  await expect(bob.page.getByRole('link', { name: 'Pending (0)' })).toBeVisible();
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
});
