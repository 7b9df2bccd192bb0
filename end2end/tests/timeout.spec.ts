import { test, expect } from '@playwright/test';
import { inboxRow, signIn, submitOrder, uniqueProduct } from './helpers';

// This project's stack runs with APPROVAL_TIMEOUT=8s.
test('nobody decides in time: "Cancelled due to timeout"', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Forklift');
  const id = await submitOrder(alice.page, product, '25000', '1');
  await expect(alice.page.getByTestId('order-status')).toHaveText('Waiting for approval');

  const bob = await signIn(browser, testInfo, 'bob');
  await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
  await expect(inboxRow(bob.page, id)).toBeVisible();

  await expect(alice.page.getByTestId('order-status')).toHaveText('Cancelled due to timeout', { timeout: 30_000 });
  await expect(inboxRow(bob.page, id)).toHaveCount(0);
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
});
