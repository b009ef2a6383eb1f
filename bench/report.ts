// The bench's results: the headline numbers, the goals from issue 13 (and SECURITY.md's timing
// target), whether each is met, and the table printed and copied into the README.

export interface Headline {
  login_ratio: number | null;
  totp_login_ratio: number | null;
  page_ratio: number | null;
  page_p99_ms: number | null;
  security_page_ratio: number | null;
  security_page_p99_ms: number | null;
  flood_one_ip_p99_ms: number | null;
  flood_many_ips_p99_ms: number | null;
  statements_per_page: number | null;
  writes_per_page: number | null;
  rss_idle_mb: number | null;
  rss_after_10k_mb: number | null;
  rss_peak_mb: number | null;
  embedded_cold_s: number | null;
  embedded_warm_s: number | null;
  timing_ratio: number | null;
}

interface Goal {
  key: keyof Headline;
  goal: string;
  isMet: (value: number) => boolean;
}

export const goals: Goal[] = [
  { key: "login_ratio", goal: "≥ 0.9", isMet: (v) => v >= 0.9 },
  { key: "totp_login_ratio", goal: "≥ 0.9", isMet: (v) => v >= 0.9 },
  { key: "page_ratio", goal: "≥ 0.5", isMet: (v) => v >= 0.5 },
  { key: "page_p99_ms", goal: "≤ 25 ms", isMet: (v) => v <= 25 },
  { key: "security_page_ratio", goal: "≥ 0.5", isMet: (v) => v >= 0.5 },
  { key: "security_page_p99_ms", goal: "≤ 25 ms", isMet: (v) => v <= 25 },
  { key: "flood_one_ip_p99_ms", goal: "≤ 25 ms", isMet: (v) => v <= 25 },
  { key: "flood_many_ips_p99_ms", goal: "≤ 25 ms", isMet: (v) => v <= 25 },
  { key: "statements_per_page", goal: "≤ 2", isMet: (v) => v <= 2 },
  { key: "writes_per_page", goal: "0", isMet: (v) => v === 0 },
  { key: "rss_peak_mb", goal: "≤ 150 MB", isMet: (v) => v <= 150 },
  { key: "embedded_cold_s", goal: "≤ 10 s", isMet: (v) => v <= 10 },
  { key: "embedded_warm_s", goal: "≤ 3 s", isMet: (v) => v <= 3 },
  { key: "timing_ratio", goal: "0.8–1.2", isMet: (v) => v >= 0.8 && v <= 1.2 },
];

export interface GoalResult {
  key: keyof Headline;
  goal: string;
  value: number | null;
  /** null when the value could not be measured in this run. */
  met: boolean | null;
}

export function assessGoals(headline: Headline): GoalResult[] {
  return goals.map(({ key, goal, isMet }) => {
    const value = headline[key];
    return { key, goal, value, met: value === null ? null : isMet(value) };
  });
}

/** The numbers the table shows next to the headline ones. */
export interface TableNumbers {
  loginRate: number | null;
  appLoginRate: number | null;
  rawCompareRate: number | null;
  pageRate: number | null;
  basePageRate: number | null;
  basePageP99: number | null;
  securityRate: number | null;
  securityP99: number | null;
  baseSecurityRate: number | null;
  baseSecurityP99: number | null;
  quietP99: number | null;
  oneIpPatientP99: number | null;
  manyIpsPatientP99: number | null;
  securityStatements: number | null;
  baseStatements: number | null;
  connections: number;
  bcryptCost: number;
  concurrency: number;
}

export function formatNumber(value: number | null, digits = 1): string {
  if (value === null || !Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Milliseconds: whole ones from 100 up, one decimal below. */
export function formatMs(value: number | null): string {
  return `${formatNumber(value, value !== null && value >= 100 ? 0 : 1)} ms`;
}

/** The report as a Markdown table: what | portal | baseline | result | goal | met. */
export function formatTable(headline: Headline, numbers: TableNumbers): string {
  const results = new Map(assessGoals(headline).map((result) => [result.key, result]));
  const verdict = (...keys: (keyof Headline)[]) => {
    const found = keys.map((key) => results.get(key)!);
    if (found.some((result) => result.met === null)) return "n/a";
    return found.every((result) => result.met) ? "yes" : "**no**";
  };
  const goalOf = (...keys: (keyof Headline)[]) => keys.map((key) => results.get(key)!.goal).join(", ");
  const f = formatNumber;
  const ms = formatMs;
  const floodRow = (who: string, key: "flood_one_ip_p99_ms" | "flood_many_ips_p99_ms", patientP99: number | null) => [
    `signed-in \`GET /\` p99 while ${who} wrong passwords`,
    `${ms(headline[key])} (\`/patient\` ${ms(patientP99)})`,
    `${ms(numbers.quietP99)} without flood`,
    ms(headline[key]),
    goalOf(key),
    verdict(key),
  ];
  const rows: string[][] = [
    [
      `password login, cost ${numbers.bcryptCost}, ${numbers.concurrency} concurrent`,
      `${f(numbers.loginRate)}/s`,
      `raw \`bcrypt.compare\` ${f(numbers.rawCompareRate)}/s`,
      f(headline.login_ratio, 2),
      goalOf("login_ratio"),
      verdict("login_ratio"),
    ],
    [
      "password + app code login",
      `${f(numbers.appLoginRate)}/s`,
      `raw ${f(numbers.rawCompareRate)}/s`,
      f(headline.totp_login_ratio, 2),
      goalOf("totp_login_ratio"),
      verdict("totp_login_ratio"),
    ],
    [
      `\`/patient\`, ${numbers.connections} connections`,
      `${f(numbers.pageRate, 0)} req/s, p99 ${ms(headline.page_p99_ms)}`,
      `bare Express + EJS: ${f(numbers.basePageRate, 0)} req/s, p99 ${ms(numbers.basePageP99)}`,
      f(headline.page_ratio, 2),
      goalOf("page_ratio", "page_p99_ms"),
      verdict("page_ratio", "page_p99_ms"),
    ],
    [
      `\`/account/security\`, ${numbers.connections} connections`,
      `${f(numbers.securityRate, 0)} req/s, p99 ${ms(numbers.securityP99)}`,
      `bare: ${f(numbers.baseSecurityRate, 0)} req/s, p99 ${ms(numbers.baseSecurityP99)}`,
      f(headline.security_page_ratio, 2),
      goalOf("security_page_ratio", "security_page_p99_ms"),
      verdict("security_page_ratio", "security_page_p99_ms"),
    ],
    floodRow("one IP floods", "flood_one_ip_p99_ms", numbers.oneIpPatientP99),
    floodRow("many IPs flood", "flood_many_ips_p99_ms", numbers.manyIpsPatientP99),
    [
      "SQL statements per signed-in page",
      `\`/patient\` ${f(headline.statements_per_page)} (${f(headline.writes_per_page)} writes), \`/account/security\` ${f(numbers.securityStatements)}`,
      `bare: ${f(numbers.baseStatements)}`,
      f(headline.statements_per_page),
      `${goalOf("statements_per_page")}, writes ${goalOf("writes_per_page")}`,
      verdict("statements_per_page", "writes_per_page"),
    ],
    [
      "RSS: idle / after 10k requests / peak",
      `${f(headline.rss_idle_mb, 0)} / ${f(headline.rss_after_10k_mb, 0)} / ${f(headline.rss_peak_mb, 0)} MB`,
      "",
      `${f(headline.rss_peak_mb, 0)} MB`,
      `peak ${goalOf("rss_peak_mb")}`,
      verdict("rss_peak_mb"),
    ],
    [
      "embedded start cold / warm (`npm start`, first page)",
      `${f(headline.embedded_cold_s, 2)} s / ${f(headline.embedded_warm_s, 2)} s`,
      "",
      "",
      `${goalOf("embedded_cold_s")} / ${goalOf("embedded_warm_s")}`,
      verdict("embedded_cold_s", "embedded_warm_s"),
    ],
    [
      "login timing: wrong password / unknown email (medians)",
      f(headline.timing_ratio, 3),
      "",
      f(headline.timing_ratio, 3),
      goalOf("timing_ratio"),
      verdict("timing_ratio"),
    ],
  ];
  const header = ["what", "portal", "baseline", "result", "goal", "met"];
  return [header, header.map(() => "---"), ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");
}
