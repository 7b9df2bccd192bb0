import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import {
  actionLink,
  inboxRow,
  printPageErrorsOnFailure,
  projectContext,
  signIn,
  submitOrder,
  uniqueProduct,
  waitForMail,
} from './helpers';

printPageErrorsOnFailure();

// Issue 25 §5: managers decide from their phones. At 375 px wide (the `phone`
// project), each page this issue added, and the inbox, fit the width, offer touch
// targets of 44 px at least, keep the countdown in sight, and have no serious or
// critical accessibility violation (axe).

/** The page scrolls only up and down. */
async function fitsTheWidth(page: Page) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `${page.url()} scrolls sideways`).toBeLessThanOrEqual(innerWidth);
}

/** Every control a thumb presses is 44 px high and wide at least (a checkbox counts
 * with the label around it, if any). */
async function thumbSized(page: Page) {
  const small = await page.evaluate(() => {
    const controls = document.querySelectorAll(
      'main button, main select, main textarea, main input:not([type=hidden]), header a, header button',
    );
    return Array.from(controls)
      .map((element) => {
        const target = element.closest('label.check') ?? element;
        const box = target.getBoundingClientRect();
        return { html: element.outerHTML.slice(0, 90), width: box.width, height: box.height };
      })
      .filter((c) => c.width > 0 && c.height > 0 && (c.width < 44 || c.height < 44));
  });
  expect(small, `${page.url()}: controls under 44 px`).toEqual([]);
}

/** No serious or critical violation on the page as it stands. */
async function accessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(bad, `${page.url()}: accessibility`).toEqual([]);
}

async function onAPhone(page: Page) {
  await fitsTheWidth(page);
  await thumbSized(page);
  await accessible(page);
}

test('on a phone: the inbox, an order with its thread, files and assignment, and an e-mail link', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Phone-sized desk');
  const id = await submitOrder(alice.page, product, '650', '2');
  const orderId = id.replace(/^po-/, '');
  await onAPhone(alice.page);

  // The inbox, its countdown in sight.
  const bob = await signIn(browser, testInfo, 'bob');
  await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
  const row = inboxRow(bob.page, id);
  await row.scrollIntoViewIfNeeded();
  await expect(row.getByRole('timer')).toBeInViewport();
  await onAPhone(bob.page);

  // The order, with a question in its thread and bob holding it.
  await bob.page.goto(`/orders/${id}`);
  await bob.page.getByTestId('assignment').getByRole('button', { name: "Claim: I'll take this" }).click();
  await expect(bob.page.getByTestId('held-by')).toHaveText('You hold this order.');
  await bob.page.getByLabel('Your message').fill('Which vendor is this from?');
  await bob.page.getByTestId('thread').getByRole('checkbox').check();
  await bob.page.getByTestId('thread').getByRole('button', { name: 'Post' }).click();
  await expect(bob.page.locator('.timeline')).toContainText('Which vendor is this from?');
  await expect(bob.page.getByRole('timer')).toBeVisible();
  await onAPhone(bob.page);
  await bob.page.screenshot({ path: testInfo.outputPath('phone-order.png'), fullPage: true });
  await testInfo.attach('order on a phone', { path: testInfo.outputPath('phone-order.png'), contentType: 'image/png' });
  await alice.page.goto(`/orders/${id}`);
  await expect(alice.page.getByTestId('question-open')).toBeVisible();
  // alice attaches the quote on her phone; the list and its form fit too.
  await alice.page.getByLabel('Attach the quote or another file').setInputFiles({
    name: 'quote.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4\n% a quote\ntrailer << >>\n%%EOF\n'),
  });
  await alice.page.getByTestId('files').getByRole('button', { name: 'Attach', exact: true }).click();
  await expect(alice.page.getByTestId('files').getByRole('link', { name: 'quote.pdf' })).toBeVisible();
  await onAPhone(alice.page);

  // carol decides from her e-mail, on her phone, without signing in.
  const approve = actionLink(await waitForMail('carol@example.com', orderId), 'Approve');
  const context = await browser.newContext(projectContext(testInfo));
  const page = await context.newPage();
  await page.goto(approve);
  await expect(page.getByTestId('link-confirm')).toBeVisible();
  await onAPhone(page);
  await page.screenshot({ path: testInfo.outputPath('phone-link.png'), fullPage: true });
  await testInfo.attach('e-mail link on a phone', { path: testInfo.outputPath('phone-link.png'), contentType: 'image/png' });
  await page.getByTestId('link-confirm').click();
  await expect(page.getByTestId('link-result')).toContainText('Approved by carol');
  await onAPhone(page);
  // And the page a spent link shows.
  await page.goto(approve);
  await expect(page.getByTestId('link-refused')).toBeVisible();
  await onAPhone(page);
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
});
