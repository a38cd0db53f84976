// Clicks through connecting a seller as the seller would, in Debian's headless chromium driven by
// playwright-core: the connect link's page, its button to the sandbox's Seller Central consent page, choosing
// the seller and confirming, and the callback's page. Saves a screenshot of both of sellersync's pages and prints
// what each page said as one line of JSON. Run by tests/tests/browser_connect.rs.
//
//   node tests/browser/connect.mjs LINK_URL SELLER_ID SCREENSHOT_DIR [LOCALE]
import { chromium } from "playwright-core";

const [url, sellerId, outDir, locale = "en-US"] = process.argv.slice(2);
if (!url || !sellerId || !outDir) {
  console.error("usage: connect.mjs LINK_URL SELLER_ID SCREENSHOT_DIR [LOCALE]");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  // This machine's network is closed: no background traffic, no sandbox as root, no GPU.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ locale, extraHTTPHeaders: { "Accept-Language": locale } });
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(url);
  const linkTitle = await page.locator("h1").innerText();
  const tag = locale.slice(0, 2);
  await page.screenshot({ path: `${outDir}/connect-link-page-${tag}.png`, fullPage: true });
  await page.locator("a.button").click();
  await page.waitForURL(/\/apps\/authorize\/consent\?/);
  const consentTitle = await page.locator("h1").innerText();
  await page.check(`input[name="seller_id"][value="${sellerId}"]`);
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.waitForURL(/\/connect\/callback\?/);
  const connectedTitle = await page.locator("h1").innerText();
  const connectedText = await page.locator("main").innerText();
  const lang = await page.locator("html").getAttribute("lang");
  await page.screenshot({ path: `${outDir}/connect-connected-page-${tag}.png`, fullPage: true });
  const origins = [...new Set(requests.map((r) => new URL(r).origin))];
  console.log(JSON.stringify({ linkTitle, consentTitle, connectedTitle, connectedText, lang, origins }));
} finally {
  await browser.close();
}
