import { test, expect } from '@playwright/test';
import {
  PASSWORD,
  hydrated,
  inboxRow,
  printPageErrorsOnFailure,
  sameOrigin,
  seconds,
  signIn,
  submitOrder,
  uniqueProduct,
  watchResponses,
} from './helpers';

printPageErrorsOnFailure();

test('a manager approves an order and the requester sees "Approved by bob" live', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Standing desk');
  const id = await submitOrder(alice.page, product, '650', '2');
  await expect(alice.page.getByTestId('order-status')).toHaveText('Waiting for approval');
  await expect(alice.page.getByText('$1,300.00')).toBeVisible();

  const bob = await signIn(browser, testInfo, 'bob');
  await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
  const row = inboxRow(bob.page, id);
  await expect(row).toBeVisible();
  await expect(row).toContainText('alice');
  const timer = row.getByRole('timer');
  const start = seconds(await timer.textContent());
  expect(start).toBeGreaterThan(60);
  // The countdown ticks in the browser: proof the page hydrated.
  await expect.poll(async () => seconds(await timer.textContent()), { timeout: 5_000 }).toBeLessThan(start);
  await bob.page.screenshot({ path: testInfo.outputPath('inbox.png'), fullPage: true });
  await testInfo.attach('inbox', { path: testInfo.outputPath('inbox.png'), contentType: 'image/png' });

  await row.getByRole('button', { name: 'Approve' }).click();
  await expect(bob.page.locator('.notice.ok')).toHaveText(/Approved by bob/);
  await expect(row).toHaveCount(0);
  // No reload on alice's side: the order page follows the change.
  await expect(alice.page.getByTestId('order-status')).toHaveText('Approved by bob');
  await expect(alice.page.getByText('Order placed')).toBeVisible();
  await alice.page.screenshot({ path: testInfo.outputPath('order.png'), fullPage: true });
  await testInfo.attach('order page', { path: testInfo.outputPath('order.png'), contentType: 'image/png' });

  await alice.page.goto('/orders');
  await expect(inboxRow(alice.page, id)).toContainText('Approved by bob');
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
});

test('a manager and then a director approve a large order, and the requester sees both', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Delivery van');
  const id = await submitOrder(alice.page, product, '6000', '2');
  await expect(alice.page.getByTestId('order-status')).toHaveText('Waiting for approval');
  await expect(alice.page.locator('.timeline')).toContainText('Approval requested from a manager (level 1 of 2)');

  const bob = await signIn(browser, testInfo, 'bob');
  await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
  const bobsRow = inboxRow(bob.page, id);
  await bobsRow.getByLabel('Comment').fill('Budget checked');
  await bobsRow.getByRole('button', { name: 'Approve' }).click();
  await expect(bob.page.locator('.notice.ok')).toContainText('now waits for a director');
  // Level 2 is a director's: the row leaves the managers' inbox.
  await expect(bobsRow).toHaveCount(0);
  // No reload on alice's side: her order page shows the first approval.
  await expect(alice.page.locator('.timeline')).toContainText('Level 1 of 2 approved by bob: “Budget checked”');
  await expect(alice.page.locator('.timeline')).toContainText('Approval requested from a director (level 2 of 2)');
  await expect(alice.page.locator('.timeline')).toContainText('Approval requested from a manager (level 1 of 2)');

  const dora = await signIn(browser, testInfo, 'dora');
  await dora.page.goto(`/?q=${encodeURIComponent(product)}`);
  const dorasRow = inboxRow(dora.page, id);
  await dorasRow.getByRole('button', { name: 'Approve' }).click();
  await expect(dora.page.locator('.notice.ok')).toHaveText(/Approved by bob, dora/);
  await expect(alice.page.getByTestId('order-status')).toHaveText('Approved by bob, dora');
  await expect(alice.page.locator('.timeline')).toContainText('Level 1 of 2 approved by bob');
  await expect(alice.page.locator('.timeline')).toContainText('Order placed');
  await alice.page.screenshot({ path: testInfo.outputPath('two-levels.png'), fullPage: true });
  await testInfo.attach('order approved at two levels', { path: testInfo.outputPath('two-levels.png'), contentType: 'image/png' });
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
  expect(dora.unexpected).toEqual([]);
});

test('a director away delegates to a manager, who approves for her', async ({ browser }, testInfo) => {
  const dora = await signIn(browser, testInfo, 'dora');
  await dora.page.goto('/settings');
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await dora.page.getByLabel('Delegate to').fill('carol');
  await dora.page.getByLabel('Until the end of (UTC)').fill(tomorrow);
  await dora.page.getByRole('button', { name: 'Delegate' }).click();
  await expect(dora.page.getByRole('status')).toHaveText('Saved.');
  await expect(dora.page.locator('.delegations')).toContainText('To carol until');

  try {
    const alice = await signIn(browser, testInfo, 'alice');
    const product = uniqueProduct('Server rack');
    const id = await submitOrder(alice.page, product, '7500', '2');
    const bob = await signIn(browser, testInfo, 'bob');
    await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
    await hydrated(inboxRow(bob.page, id));
    await inboxRow(bob.page, id).getByRole('button', { name: 'Approve' }).click();
    await expect(bob.page.locator('.notice.ok')).toContainText('now waits for a director');

    // carol, a manager, holds dora's decisions: the directors' level is in her inbox.
    const carol = await signIn(browser, testInfo, 'carol');
    await carol.page.goto(`/?q=${encodeURIComponent(product)}`);
    await inboxRow(carol.page, id).getByRole('button', { name: 'Approve' }).click();
    await expect(carol.page.locator('.notice.ok')).toHaveText(/Approved by bob, carol for dora/);
    await expect(alice.page.getByTestId('order-status')).toHaveText('Approved by bob, carol for dora');
    expect(alice.unexpected).toEqual([]);
    expect(bob.unexpected).toEqual([]);
    expect(carol.unexpected).toEqual([]);
  } finally {
    // Back from holiday: the other stories' director levels are dora's again.
    await dora.page.goto('/settings');
    await dora.page.getByRole('button', { name: 'End now' }).click();
    await expect(dora.page.locator('.delegations')).not.toContainText('To carol');
  }
  expect(dora.unexpected).toEqual([]);
});

test('carol rejects an order with a comment', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Espresso machine');
  const id = await submitOrder(alice.page, product, '1200', '1');

  const carol = await signIn(browser, testInfo, 'carol');
  await carol.page.goto(`/?q=${encodeURIComponent(product)}`);
  const row = inboxRow(carol.page, id);
  await row.getByLabel('Comment').fill('Not in this budget');
  await row.getByRole('button', { name: 'Reject' }).click();
  await expect(row).toHaveCount(0);
  await expect(alice.page.getByTestId('order-status')).toHaveText('Rejected by carol');
  await expect(alice.page.getByText('Not in this budget')).toBeVisible();

  await carol.page.goto(`/?tab=decided&q=${encodeURIComponent(product)}`);
  await expect(inboxRow(carol.page, id)).toContainText('Rejected by carol');
  expect(alice.unexpected).toEqual([]);
  expect(carol.unexpected).toEqual([]);
});

test('a requester cancels a waiting order and it leaves the inbox', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Conference table');
  const id = await submitOrder(alice.page, product, '2400', '1');
  await expect(alice.page.getByTestId('order-status')).toHaveText('Waiting for approval');

  const bob = await signIn(browser, testInfo, 'bob');
  await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
  const row = inboxRow(bob.page, id);
  await expect(row).toBeVisible();
  // Managers decide; only the requester's page offers to cancel.
  await expect(row.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);

  await alice.page.getByLabel('Comment').fill('Found one in storage');
  await alice.page.getByRole('button', { name: 'Cancel order' }).click();
  await expect(alice.page.locator('.notice.ok')).toHaveText(/Cancelled by alice/);
  await expect(alice.page.getByTestId('order-status')).toHaveText('Cancelled by alice');
  await expect(alice.page.locator('.timeline')).toContainText('Cancelled by alice');
  await expect(alice.page.getByText('Found one in storage')).toBeVisible();
  await expect(alice.page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  // No reload on bob's side: the row leaves his inbox.
  await expect(row).toHaveCount(0);

  await bob.page.goto(`/?tab=decided&q=${encodeURIComponent(product)}`);
  await expect(inboxRow(bob.page, id)).toContainText('Cancelled by alice');
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
});

test('bulk approve of three orders, one of them decided meanwhile, also without JavaScript', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const batch = uniqueProduct('Bulk monitors');
  const ids = [];
  for (const n of [1, 2, 3]) {
    ids.push(await submitOrder(alice.page, `${batch} #${n}`, '1100', '1'));
  }

  // Bob's browser runs no script: the page never updates itself under him.
  const bob = await signIn(browser, testInfo, 'bob', [], { javaScriptEnabled: false });
  await bob.page.goto(`/?q=${encodeURIComponent(batch)}`);
  for (const id of ids) {
    await inboxRow(bob.page, id).getByRole('checkbox').check();
  }
  // Meanwhile carol approves the second one.
  const carol = await signIn(browser, testInfo, 'carol');
  await carol.page.goto(`/?q=${encodeURIComponent(`${batch} #2`)}`);
  await inboxRow(carol.page, ids[1]).getByRole('button', { name: 'Approve' }).click();
  await expect(carol.page.locator('.notice.ok')).toHaveText(/Approved by carol/);

  await bob.page.getByLabel('Selected orders').fill('Monitors for the new team');
  await bob.page.getByRole('button', { name: 'Approve selected' }).click();
  const report = bob.page.getByRole('status', { name: 'Selected orders' });
  await expect(report.locator(`li[data-instance="${ids[0]}"]`)).toContainText('Decided: Approved by bob.');
  await expect(report.locator(`li[data-instance="${ids[1]}"]`)).toContainText('Already decided: Approved by carol.');
  await expect(report.locator(`li[data-instance="${ids[2]}"]`)).toContainText('Decided: Approved by bob.');
  // What was decided has left the inbox; the filter came back with the page.
  await expect(bob.page.getByLabel('Filter')).toHaveValue(batch);
  for (const id of ids) {
    await expect(inboxRow(bob.page, id)).toHaveCount(0);
  }
  await alice.page.goto(`/orders/${ids[2]}`);
  await expect(alice.page.getByTestId('order-status')).toHaveText('Approved by bob');
  await expect(alice.page.getByText('Monitors for the new team')).toBeVisible();
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
  expect(carol.unexpected).toEqual([]);
});

test('an order under $1000 is approved at once', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  await submitOrder(alice.page, uniqueProduct('Stapler'), '12.50', '4');
  await expect(alice.page.getByTestId('order-status')).toHaveText('Auto-approved');
  expect(alice.unexpected).toEqual([]);
});

test('when one manager decides, the row leaves the other manager\'s inbox', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Monitor arm');
  const id = await submitOrder(alice.page, product, '500', '2');

  const bob = await signIn(browser, testInfo, 'bob');
  const carol = await signIn(browser, testInfo, 'carol');
  for (const manager of [bob, carol]) {
    await manager.page.goto(`/?q=${encodeURIComponent(product)}`);
    await expect(inboxRow(manager.page, id)).toBeVisible();
  }
  await inboxRow(bob.page, id).getByRole('button', { name: 'Approve' }).click();
  await expect(inboxRow(bob.page, id)).toHaveCount(0);
  await expect(inboxRow(carol.page, id)).toHaveCount(0, { timeout: 5_000 });
  expect(bob.unexpected).toEqual([]);
  expect(carol.unexpected).toEqual([]);
});

test('a new order appears in an open inbox without a reload', async ({ browser }, testInfo) => {
  const product = uniqueProduct('Laptop');
  const bob = await signIn(browser, testInfo, 'bob');
  await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
  await expect(bob.page.getByText('Nothing is waiting for a decision.')).toBeVisible();

  const alice = await signIn(browser, testInfo, 'alice');
  const id = await submitOrder(alice.page, product, '2400', '1');
  await expect(inboxRow(bob.page, id)).toBeVisible({ timeout: 10_000 });
  expect(bob.unexpected).toEqual([]);
});

test('a requester has no inbox and cannot decide, even by calling the server', async ({ browser }, testInfo) => {
  const carol = await signIn(browser, testInfo, 'carol');
  const id = await submitOrder(carol.page, uniqueProduct('Printer'), '1500', '1');

  const alice = await signIn(browser, testInfo, 'alice', [403, 404]);
  await alice.page.goto('/');
  await expect(alice.page).toHaveURL(/\/orders$/);
  await expect(alice.page.getByRole('link', { name: 'Inbox' })).toHaveCount(0);
  // Called as the page itself would (same origin): carol's order does not exist for
  // alice, and the inbox is for managers.
  const response = await alice.page.request.post('/api/decide', {
    form: { instance_id: id, decision: 'approve' },
    headers: sameOrigin(alice.page),
  });
  expect(response.status()).toBe(404);
  const inbox = await alice.page.request.post('/api/inbox', {
    form: { text: '', offset: '0', sort: '' },
    headers: sameOrigin(alice.page),
  });
  expect(inbox.status()).toBe(403);
});

test('a manager cannot approve their own order', async ({ browser }, testInfo) => {
  const bob = await signIn(browser, testInfo, 'bob', [403]);
  const product = uniqueProduct('Conference chairs');
  const id = await submitOrder(bob.page, product, '300', '5');
  await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
  const row = inboxRow(bob.page, id);
  await expect(row).toContainText('Your order');
  await expect(row.getByRole('button', { name: 'Approve' })).toHaveCount(0);
  const response = await bob.page.request.post('/api/decide', {
    form: { instance_id: id, decision: 'approve' },
    headers: sameOrigin(bob.page),
  });
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain('your own order');
});

test('the order form explains what is wrong, next to each field', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice', [422]);
  await alice.page.goto('/orders/new');
  // Once the form is live, a refused order stays on the page with what was typed.
  await expect(alice.page.locator('form[data-live]')).toBeAttached();
  await alice.page.getByLabel('Unit cost').fill('abc');
  await alice.page.getByLabel('Quantity').fill('0');
  await alice.page.getByLabel('Order ID').fill('has spaces');
  await alice.page.getByRole('button', { name: 'Submit order' }).click();
  await expect(alice.page.locator('#product-error')).toHaveText('Enter the product name.');
  await expect(alice.page.locator('#cost-error')).toHaveText('Enter the unit cost as a number, e.g. 12.50.');
  await expect(alice.page.locator('#quantity-error')).toContainText('from 1 to 1,000,000');
  await expect(alice.page.locator('#order_id-error')).toContainText("Use only letters, digits");
  await expect(alice.page).toHaveURL(/\/orders\/new$/);
  await expect(alice.page.getByLabel('Unit cost')).toHaveValue('abc');
  await expect(alice.page.getByLabel('Quantity')).toHaveValue('0');
  await expect(alice.page.getByLabel('Order ID')).toHaveValue('has spaces');
  expect(alice.unexpected).toEqual([]);
});

test('a wrong password is refused', async ({ browser }, testInfo) => {
  const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL });
  const page = await context.newPage();
  const unexpected = watchResponses(page, [422]);
  await page.goto('/login');
  await expect(page.getByText('Demo mode')).toBeVisible();
  await expect(page.locator('form[data-live]')).toBeAttached();
  await page.getByLabel('Username').fill('bob');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('That username and password do not match an account.');
  // The live form stays put and keeps the username (the no-JavaScript story below
  // covers the browser's own post).
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByLabel('Username')).toHaveValue('bob');
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  expect(unexpected).toEqual([]);
});

test('without JavaScript, every form still works and explains what is wrong', async ({ browser }, testInfo) => {
  const noScript = { javaScriptEnabled: false };
  const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL, ...noScript });
  const page = await context.newPage();
  const unexpected = watchResponses(page);
  await page.goto('/login');
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('That username and password do not match an account.');
  // What was typed comes back with the error; the password never does.
  await expect(page.getByLabel('Username')).toHaveValue('alice');
  await expect(page.getByLabel('Password')).toHaveValue('');
  expect(page.url()).not.toContain('wrong-password');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/orders$/);

  await page.goto('/orders/new');
  await page.getByLabel('Unit cost').fill('abc');
  await page.getByLabel('Quantity').fill('3');
  await page.getByRole('button', { name: 'Submit order' }).click();
  await expect(page.locator('#product-error')).toHaveText('Enter the product name.');
  await expect(page.locator('#cost-error')).toHaveText('Enter the unit cost as a number, e.g. 12.50.');
  await expect(page.getByLabel('Unit cost')).toHaveValue('abc');
  await expect(page.getByLabel('Quantity')).toHaveValue('3');
  // A second refusal replaces the kept values instead of repeating them.
  await page.getByLabel('Unit cost').fill('xyz');
  await page.getByRole('button', { name: 'Submit order' }).click();
  await expect(page.getByLabel('Unit cost')).toHaveValue('xyz');
  expect(new URL(page.url()).searchParams.getAll('unit_cost')).toEqual(['xyz']);
  const product = uniqueProduct('Scanner');
  const id = await submitOrder(page, product, '1100', '1');
  // Without JavaScript the page does not follow the workflow: a person reloads.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('order-status')).toHaveText('Waiting for approval', { timeout: 1000 });
  }).toPass();

  const carol = await signIn(browser, testInfo, 'carol', [], noScript);
  const inbox = `/?q=${encodeURIComponent(product)}`;
  // A second tab opened before the decision: without scripts it cannot update itself.
  const stale = await carol.page.context().newPage();
  const staleUnexpected = watchResponses(stale);
  await stale.goto(inbox);
  await carol.page.goto(inbox);
  await inboxRow(carol.page, id).getByRole('button', { name: 'Approve' }).click();
  await expect(carol.page).toHaveURL(/\?q=/);
  await expect(inboxRow(carol.page, id)).toHaveCount(0);
  // The late decision from the stale tab is refused, and that tab says why.
  await inboxRow(stale, id).getByRole('button', { name: 'Reject' }).click();
  await expect(stale.locator('.notice.error')).toContainText('not awaiting approval: Approved by carol');
  await expect(inboxRow(stale, id)).toHaveCount(0);

  await page.reload();
  await expect(page.getByTestId('order-status')).toHaveText('Approved by carol');
  expect(unexpected).toEqual([]);
  expect(carol.unexpected).toEqual([]);
  expect(staleUnexpected).toEqual([]);
});

test('an unknown order has a page that says so, with status 404', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice', [404]);
  const response = await alice.page.goto('/orders/po-does-not-exist');
  expect(response?.status()).toBe(404);
  await expect(alice.page.getByRole('alert')).toHaveText('No order po-does-not-exist.');
});

test('a page on another port of the same host cannot make a signed-in manager decide', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const id = await submitOrder(alice.page, uniqueProduct('Forged'), '2000', '1');
  const bob = await signIn(browser, testInfo, 'bob', [403]);
  const app = new URL(testInfo.project.use.baseURL ?? '');
  // "Same site" as the app (cookies do not tell ports apart), but another origin.
  const lure = `http://${app.hostname}:3199/prize`;
  await bob.page.route(lure, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<form method="post" action="${app.origin}/api/decide">
        <input name="instance_id" value="${id}"><input name="decision" value="approve">
      </form><script>document.forms[0].submit()</script>`,
    }),
  );
  const answer = bob.page.waitForResponse((r) => r.url().endsWith('/api/decide'));
  await bob.page.goto(lure);
  expect((await answer).status()).toBe(403);
  await expect(bob.page.locator('body')).toContainText('did not come from a page of Approvals');

  await alice.page.goto(`/orders/${id}`);
  await expect(alice.page.getByTestId('order-status')).toHaveText('Waiting for approval');
});

test('a manager sets their e-mail address on the settings page', async ({ browser }, testInfo) => {
  const { page, unexpected } = await signIn(browser, testInfo, 'carol');
  await page.getByRole('link', { name: 'carol', exact: true }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
  const field = page.getByLabel('E-mail address');
  // The browser takes this one; the server says what is wrong with it.
  await field.fill('carol@localhost');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert')).toContainText('the domain needs a dot');
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await field.fill('carol@example.com');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText('Saved. Your e-mail address is carol@example.com.');
  await page.reload();
  await expect(page.getByLabel('E-mail address')).toHaveValue('carol@example.com');
  expect(unexpected).toEqual([]);
});
