import { defineConfig } from '@playwright/test';

// Stack ports sit below the ephemeral range (32768+) so outgoing connections never
// hold them. Debian's chromium, never a downloaded browser; offline-safe flags (we run as root).
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const stack = (name: string, port: number, timeout: string, base: number) => ({
  command: `bash end2end/stack.sh ${name} ${port} ${timeout} ${base}`,
  cwd: '..',
  url: `http://127.0.0.1:${port}/healthz`,
  timeout: 180_000,
  reuseExistingServer: false,
  gracefulShutdown: { signal: 'SIGTERM' as const, timeout: 15_000 },
  stdout: 'ignore' as const,
  stderr: 'pipe' as const,
});

export default defineConfig({
  testDir: './tests',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  workers: 2,
  retries: 0,
  outputDir: '../target/e2e/test-results',
  reporter: [['list'], ['json', { outputFile: '../target/e2e/results.json' }]],
  use: {
    launchOptions: { executablePath: '/usr/bin/chromium', args: chromiumArgs },
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'approvals', testIgnore: /timeout|phone/, use: { baseURL: 'http://127.0.0.1:3100' } },
    { name: 'timeout', testMatch: /timeout/, use: { baseURL: 'http://127.0.0.1:3101' } },
    // A phone, 375 px wide, on the main stack: the stories of deciding where people are
    // (an e-mail's link, assigning, the thread, files) and the phone's own checks (width, touch
    // targets, the countdown, axe).
    {
      name: 'phone',
      testMatch: /email-link|assign|thread|attach|phone/,
      use: {
        baseURL: 'http://127.0.0.1:3100',
        viewport: { width: 375, height: 740 },
        isMobile: true,
        hasTouch: true,
        deviceScaleFactor: 2,
      },
    },
  ],
  // Two stacks: one with a long approval timeout, one with a short one for the timeout story.
  webServer: [stack('main', 3100, '120s', 24100), stack('timeout', 3101, '30s', 24200)],
});
