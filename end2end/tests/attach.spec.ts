import { test, expect } from '@playwright/test';
import * as fs from 'fs';
import { inboxRow, printPageErrorsOnFailure, signIn, uniqueProduct, waitForMail } from './helpers';

printPageErrorsOnFailure();

// Issue 25 §4: alice attaches the quote on the order form; bob's e-mail names it, his
// inbox row counts it, and he downloads it from the order's page, byte for byte. A
// `.pdf` that is really HTML is refused with a message; a photo is added while the
// order waits.

const QUOTE = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n' +
    '2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% the March quote\n' +
    'trailer << /Root 1 0 R >>\n%%EOF\n',
);
const PHOTO = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de', 'hex');

test('the quote is attached on the order form, named in the e-mail and downloaded by the manager', async ({ browser }, testInfo) => {
  const alice = await signIn(browser, testInfo, 'alice');
  const product = uniqueProduct('Conference table');
  await alice.page.goto('/orders/new');
  await alice.page.getByLabel('Product').fill(product);
  await alice.page.getByLabel('Unit cost').fill('1800');
  await alice.page.getByLabel('Quantity').fill('2');
  await alice.page.getByLabel(/Quote or other files/).setInputFiles({
    name: 'Quote March.pdf',
    mimeType: 'application/pdf',
    buffer: QUOTE,
  });
  await alice.page.getByRole('button', { name: 'Submit order' }).click();
  await alice.page.waitForURL(/\/orders\/po-/);
  const id = decodeURIComponent(new URL(alice.page.url()).pathname.split('/').pop() ?? '');
  const files = alice.page.getByTestId('files');
  await expect(files.getByRole('link', { name: 'Quote March.pdf' })).toBeVisible();
  await expect(files).toContainText('PDF');

  // A `.pdf` that is HTML is refused, saying why; a photo goes in beside the quote.
  await files.getByLabel('Attach the quote or another file').setInputFiles({
    name: 'invoice.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('<!DOCTYPE html><html><body><script>alert(1)</script></body></html>'),
  });
  await files.getByRole('button', { name: 'Attach', exact: true }).click();
  await expect(alice.page.getByTestId('files').getByRole('alert')).toContainText('not a PDF, PNG or JPEG');
  await alice.page.getByTestId('files').getByLabel('Attach the quote or another file').setInputFiles({
    name: 'site photo.png',
    mimeType: 'image/png',
    buffer: PHOTO,
  });
  await alice.page.getByTestId('files').getByRole('button', { name: 'Attach', exact: true }).click();
  await expect(alice.page.getByTestId('files').getByRole('status')).toHaveText('Attached.');
  await expect(alice.page.getByTestId('files').getByRole('link')).toHaveCount(2);

  // bob's request names the quote (attached before the workflow asked him).
  const orderId = id.replace(/^po-/, '');
  const mail = await waitForMail('bob@example.com', orderId);
  expect(mail.text).toContain('Attached to it: Quote March.pdf');

  // His inbox counts the files; the order's page downloads the quote as it was sent.
  const bob = await signIn(browser, testInfo, 'bob');
  await bob.page.goto(`/?q=${encodeURIComponent(product)}`);
  await expect(inboxRow(bob.page, id)).toContainText('alice · 2 files');
  await bob.page.goto(`/orders/${id}`);
  const [download] = await Promise.all([
    bob.page.waitForEvent('download'),
    bob.page.getByTestId('files').getByRole('link', { name: 'Quote March.pdf' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('Quote March.pdf');
  const saved = await download.path();
  expect(fs.readFileSync(saved ?? '')).toEqual(QUOTE);
  // Managers see the files but add none.
  await expect(bob.page.getByTestId('files').getByRole('button', { name: 'Attach', exact: true })).toHaveCount(0);
  await bob.page.screenshot({ path: testInfo.outputPath('files.png'), fullPage: true });
  await testInfo.attach('files', { path: testInfo.outputPath('files.png'), contentType: 'image/png' });
  expect(alice.unexpected).toEqual([]);
  expect(bob.unexpected).toEqual([]);
});
