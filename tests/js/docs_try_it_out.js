// Drives /docs (Swagger UI) in headless Chromium: opens POST /v1/predict/single, clicks "Try it
// out" then "Execute" (the document's example body), and prints what the page shows as JSON:
// {"status": "200", "body": "<response body text>"}. A screenshot goes to argv[3].
// Usage: node docs_try_it_out.js http://127.0.0.1:PORT/docs /tmp/docs.png
const { chromium } = require('playwright-core');

(async () => {
  const [url, shot] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // The machine has no outside network: keep Chromium from reaching for it.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const failed = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    await page.goto(url, { waitUntil: 'networkidle' });
    const op = page.locator('#operations-predict-predictSingle');
    await op.locator('.opblock-summary').first().click();
    await op.locator('button.try-out__btn').click();
    await op.locator('button.execute').click();
    const status = op.locator('.live-responses-table tr.response .response-col_status').first();
    await status.waitFor({ timeout: 30000 });
    const body = await op.locator('.live-responses-table .response-col_description pre').first()
      .textContent();
    await op.locator('.live-responses-table').scrollIntoViewIfNeeded();
    await page.screenshot({ path: shot, fullPage: false });
    console.log(JSON.stringify({
      status: (await status.textContent()).trim(), body, failed,
      title: await page.title(),
    }));
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
