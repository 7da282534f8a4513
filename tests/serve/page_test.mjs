// osq serve's search page in headless Chromium, at a phone's width, on a
// real server over the bundled corpus's index: type a query and see the
// right passage highlighted, page, open a link that holds a search, filter
// by source, go back, open a document; and no request leaves the server.
//
// Usage: node page_test.mjs OSQ CORPUS_INDEX
// Exit 77 (skipped, said why) when playwright-core (npm, scripts/install-deps.sh)
// or Debian's chromium is missing.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

const [OSQ, INDEX] = process.argv.slice(2);
const CHROMIUM = process.env.OSQ_CHROMIUM || "/usr/bin/chromium";
let chromium;
try {
  ({ chromium } = createRequire(import.meta.url)("playwright-core"));
} catch {
  console.log("SKIPPED: playwright-core is not installed in tests/serve (scripts/install-deps.sh runs npm ci there)");
  process.exit(77);
}
if (!existsSync(CHROMIUM)) {
  console.log(`SKIPPED: no Chromium at ${CHROMIUM} (Debian package chromium; scripts/install-deps.sh installs it)`);
  process.exit(77);
}

let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else {
    failed++;
    console.log("FAIL: " + what);
  }
}

const server = spawn(OSQ, ["serve", "-i", INDEX, "--listen", "127.0.0.1:0", "--threads", "2"], { stdio: ["ignore", "ignore", "pipe"] });
const base = await new Promise((resolve, reject) => {
  let err = "";
  server.stderr.on("data", (d) => {
    err += d;
    const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
    if (m) resolve(`http://127.0.0.1:${m[1]}`);
  });
  server.on("exit", (code) => reject(new Error(`osq serve exited ${code}: ${err}`)));
});
const api = async (params) => (await fetch(`${base}/search?${new URLSearchParams(params)}`)).json();

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, locale: "ko-KR" });
  const page = await ctx.newPage();
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(base + "/")) foreign.push(r.url()); });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const hits = async () => page.$$eval("li.hit", (ls) => ls.map((l) => ({
    doc: l.dataset.doc, title: l.querySelector("h2 a").textContent,
    passage: l.querySelector(".passage").textContent, marks: [...l.querySelectorAll("mark")].map((m) => m.textContent) })));
  const settle = () => page.waitForFunction(() => !document.getElementById("count").textContent.includes("검색 중"));

  // --- type a query: the right passage, highlighted, and the URL holds it ---
  await page.goto(base + "/");
  check((await page.title()).includes("osq"), "the page has a title");
  await page.fill("#q", "화웨이");
  await page.press("#q", "Enter");
  await page.waitForSelector("li.hit");
  await settle();
  const want = await api({ q: "화웨이", n: "10" });
  let got = await hits();
  check(got.length === want.results.length && got.length > 0, `화웨이: ${got.length} results shown, the API has ${want.results.length}`);
  check(got[0] && got[0].passage === want.results[0].passage, `화웨이: the first passage shown is the API's: ${got[0] && got[0].passage}`);
  check(got[0] && got[0].marks.length > 0 && got[0].marks.every((m) => m.includes("화웨이")), `화웨이: highlighted ${got[0] && got[0].marks}`);
  check(decodeURIComponent(page.url()).includes("q=화웨이"), `the URL holds the query: ${page.url()}`);
  const count = await page.textContent("#count");
  check(count.includes(want.total.toLocaleString("ko-KR")), `the count line names ${want.total} passages: ${count}`);
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), "nothing wider than a phone's screen");

  // --- paging: the next page is the API's second page, in the URL ---
  await page.fill("#q", "오픈스택");
  await page.press("#q", "Enter");
  await page.waitForSelector("li.hit");
  await settle();
  const first = await hits();
  await page.click("nav.pages a[rel=next]");
  await page.waitForFunction(() => new URLSearchParams(location.search).get("page") === "2");
  await settle();
  await page.waitForSelector("li.hit");
  const second = await hits();
  const want2 = await api({ q: "오픈스택", n: "10", offset: "10" });
  check(second.length === want2.results.length && second.every((h, i) => h.passage === want2.results[i].passage),
        "page 2 shows results 11-20 of the API");
  check(second[0].passage !== first[0].passage, "page 2 differs from page 1");
  check((await page.textContent("nav.pages .cur")) === "2", "page 2 is marked current");

  // --- a link that holds a search opens with its results ---
  const other = await ctx.newPage();
  other.on("request", (r) => { if (!r.url().startsWith(base + "/")) foreign.push(r.url()); });
  await other.goto(`${base}/?q=${encodeURIComponent("오픈스택")}&page=2`);
  await other.waitForSelector("li.hit");
  const linked = await other.$$eval("li.hit .passage", (ps) => ps.map((p) => p.textContent));
  check(linked.length === second.length && linked.every((p, i) => p === second[i].passage), "/?q=오픈스택&page=2 opens with page 2's results");
  check((await other.inputValue("#q")) === "오픈스택", "the search box shows the linked query");
  await other.close();

  // --- back: page 1 again ---
  await page.goBack();
  await page.waitForFunction(() => !new URLSearchParams(location.search).get("page"));
  await settle();
  const back = await hits();
  check(back.length > 0 && back[0].passage === first[0].passage, "the back button shows page 1 again");

  // --- filter by source ---
  const prefix = "https://github.com/openstack-kr/";
  await page.click("#more summary");
  await page.fill("#source", prefix);
  await page.fill("#q", "클라우드");
  await page.press("#q", "Enter");
  await page.waitForFunction(() => new URLSearchParams(location.search).get("source"));
  await settle();
  await page.waitForSelector("li.hit");
  const filtered = await hits();
  const wantf = await api({ q: "클라우드", n: "10", source: prefix });
  const all = await api({ q: "클라우드", n: "10" });
  check(filtered.length > 0 && filtered.every((h, i) => h.passage === wantf.results[i].passage),
        "the source filter shows the API's filtered results");
  check(wantf.results.every((r) => r.source.startsWith(prefix)) && wantf.total < all.total,
        `the filter keeps only ${prefix} (${wantf.total} of ${all.total})`);
  check((await page.textContent("#count")).includes(wantf.total.toLocaleString("ko-KR")), "the count is the filtered count");
  check(decodeURIComponent(page.url()).includes("source=" + prefix), "the URL holds the filter");
  // a date filter nothing passes (the bundled corpus has no dates)
  await page.fill("#from", "2020");
  await page.press("#q", "Enter");
  await page.waitForFunction(() => new URLSearchParams(location.search).get("from") === "2020");
  await settle();
  check((await page.$$("li.hit")).length === 0 && (await page.textContent("#count")).includes("없습니다"),
        "a date filter on undated documents: no results, said in Korean");
  await page.fill("#from", "2020-13");
  await page.press("#q", "Enter");
  await page.waitForSelector("#error:not([hidden])");
  check((await page.textContent("#error")).includes("date_from"), "a bad date is reported on the page");

  // --- a result's title opens its document ---
  await page.goto(`${base}/?q=${encodeURIComponent("화웨이")}`);
  await page.waitForSelector("li.hit h2 a");
  await page.click("li.hit h2 a");
  await page.waitForSelector("#doc:not([hidden]) h2");
  const text = await page.textContent("#doc");
  check(text.includes(want.results[0].passage), "the document view holds the result's passage");

  check(foreign.length === 0, `requests to other hosts: ${foreign.slice(0, 3)}`);
  check(errors.length === 0, `script errors: ${errors.slice(0, 3)}`);
} catch (e) {
  failed++;
  console.log("FAIL: " + (e && e.stack ? e.stack : e));
} finally {
  await browser.close();
  server.kill("SIGTERM");
}
console.log(`page: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
