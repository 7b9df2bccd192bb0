import { test, expect } from '@playwright/test';
import { inboxRow, printPageErrorsOnFailure, signIn, submitOrder, uniqueProduct } from './helpers';

printPageErrorsOnFailure();

// Issue 25 §3: a manager asks the requester a question on the order; the inbox shows
// "question open" until she answers, and the answer reaches his open page live.
test('a manager asks the requester, she answers, and the answer arrives live', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Laser printer');
  const id = await submitOrder(alice.page, product, '900', '2');

  const bob = await signIn(browser, testInfo, 'bob');
  await bob.page.goto(`/orders/${id}`);
  const thread = bob.page.getByTestId('thread');
  await thread.getByLabel('Your message').fill('Is this the quote from March?');
  await thread.getByRole('checkbox').check();
  await thread.getByRole('button', { name: 'Post' }).click();
  await expect(bob.page.getByTestId('thread').getByRole('status')).toHaveText('Posted.');
  await expect(bob.page.locator('.timeline')).toContainText('bob asked alice: “Is this the quote from March?”');

  const carol = await signIn(browser, testInfo, 'carol');
  await carol.page.goto(`/?q=${encodeURIComponent(product)}`);
  await expect(inboxRow(carol.page, id)).toContainText('question open');

  // alice reads it on her page, which says the deadline keeps running, and answers.
  await alice.page.goto(`/orders/${id}`);
  await expect(alice.page.getByTestId('question-open')).toContainText('The deadline keeps running');
  await expect(alice.page.locator('.timeline')).toContainText('Is this the quote from March?');
  await alice.page.getByLabel('Your answer or message').fill('Yes, the March one.');
  await alice.page.getByRole('button', { name: 'Post' }).click();
  await expect(alice.page.getByTestId('question-open')).toHaveCount(0);
  await alice.page.screenshot({ path: testInfo.outputPath('thread.png'), fullPage: true });
  await testInfo.attach('thread', { path: testInfo.outputPath('thread.png'), contentType: 'image/png' });

  // bob's page, open all along, shows the answer without a reload.
  await expect(bob.page.locator('.timeline')).toContainText('alice: “Yes, the March one.”');
  await carol.page.reload();
  await expect(inboxRow(carol.page, id)).not.toContainText('question open');
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
  expect(carol.unexpected).toEqual([]);
});
