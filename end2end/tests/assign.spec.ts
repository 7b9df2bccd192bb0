import { test, expect } from '@playwright/test';
import { inboxRow, printPageErrorsOnFailure, signIn, submitOrder, uniqueProduct } from './helpers';

printPageErrorsOnFailure();

// Issue 25 §2: a manager claims a waiting order, colleagues see who holds it, and she
// hands it to another manager with a reason; the requester sees each step and has no
// say in it. Plain forms: they work without JavaScript too.
test('a manager claims an order, everyone sees who holds it, and she hands it on', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Projector');
  const id = await submitOrder(alice.page, product, '700', '2');

  const bob = await signIn(browser, testInfo, 'bob');
  await bob.page.goto(`/orders/${id}`);
  const panel = bob.page.getByTestId('assignment');
  await expect(panel.getByTestId('held-by')).toHaveText('Nobody holds this order yet.');
  await panel.getByRole('button', { name: "Claim: I'll take this" }).click();
  await expect(panel.getByTestId('held-by')).toHaveText('You hold this order.');
  await expect(panel.getByRole('status')).toHaveText('Saved.');

  const carol = await signIn(browser, testInfo, 'carol');
  await carol.page.goto(`/?q=${encodeURIComponent(product)}`);
  await expect(inboxRow(carol.page, id)).toContainText('alice · held by bob');

  await panel.getByLabel('Assign to').selectOption('carol');
  await panel.getByLabel('Why (optional, for the timeline)').fill('You know this vendor');
  await panel.getByRole('button', { name: 'Assign', exact: true }).click();
  await expect(panel.getByTestId('held-by')).toHaveText('Held by carol.');
  await bob.page.screenshot({ path: testInfo.outputPath('assigned.png'), fullPage: true });
  await testInfo.attach('assigned', { path: testInfo.outputPath('assigned.png'), contentType: 'image/png' });

  // carol's inbox, filtered to what she holds.
  await carol.page.goto('/');
  await carol.page.getByRole('link', { name: 'Assigned to me' }).click();
  await expect(carol.page.getByRole('searchbox')).toHaveValue('held:me');
  await expect(inboxRow(carol.page, id)).toContainText('held by carol');
  await carol.page.getByRole('link', { name: 'Unassigned' }).click();
  await expect(inboxRow(carol.page, id)).toHaveCount(0);

  // The requester sees who holds it and each step, and has nothing to press.
  await alice.page.goto(`/orders/${id}`);
  const hers = alice.page.getByTestId('assignment');
  await expect(hers.getByTestId('held-by')).toHaveText('Held by carol.');
  await expect(hers.getByRole('button')).toHaveCount(0);
  const timeline = alice.page.locator('.timeline');
  await expect(timeline).toContainText('Claimed by bob');
  await expect(timeline).toContainText('Assigned to carol by bob: “You know this vendor”');

  // carol lets it go.
  await carol.page.goto(`/orders/${id}`);
  await carol.page.getByTestId('assignment').getByRole('button', { name: 'Release' }).click();
  await expect(carol.page.getByTestId('held-by')).toHaveText('Nobody holds this order yet.');
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
  expect(carol.unexpected).toEqual([]);
});
