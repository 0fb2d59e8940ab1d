// Money, percentages and dates for people, and amounts typed by people back to minor units.
// Money never passes through floating point: minor units become an exact decimal string, which
// Intl.NumberFormat formats as it is.
import { lang, locale } from './i18n.js';

const MAX_MINOR = 9007199254740991n; // 2^53 - 1, the API's range
let timeZone = 'Europe/Berlin';

/* The shop's IANA zone, in which months and dates are shown. */
export function setTimeZone(tz) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    timeZone = tz;
  } catch {
    timeZone = 'Europe/Berlin';
  }
}

const digitsCache = new Map();

/* Decimal places of a currency (EUR 2, JPY 0, KWD 3), from ISO 4217 as the browser knows it. */
export function currencyDigits(currency) {
  if (!digitsCache.has(currency)) {
    let d = 2;
    try {
      d = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits;
    } catch {
      /* unknown code: assume cents */
    }
    digitsCache.set(currency, d);
  }
  return digitsCache.get(currency);
}

/* 123456, 2 -> "1234.56"; -5, 2 -> "-0.05". */
function toDecimal(minor, digits) {
  const neg = minor < 0;
  let s = String(Math.abs(Math.trunc(minor)));
  if (digits > 0) {
    s = s.padStart(digits + 1, '0');
    s = `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  }
  return (neg ? '-' : '') + s;
}

function numberFormat(opts) {
  return new Intl.NumberFormat(locale(), opts);
}

/* "1.234,56 €" (de) or "€1,234.56" (en); "–" for null. */
export function money(minor, currency) {
  if (minor === null || minor === undefined) return '–';
  const digits = currencyDigits(currency);
  try {
    return numberFormat({ style: 'currency', currency }).format(toDecimal(minor, digits));
  } catch {
    return `${plainAmount(minor, currency)} ${currency}`;
  }
}

/* The amount as typed into a field: "1.234,56" (de) or "1,234.56" (en); "" for null. */
export function plainAmount(minor, currency) {
  if (minor === null || minor === undefined) return '';
  const digits = currencyDigits(currency);
  return numberFormat({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(
    toDecimal(minor, digits),
  );
}

/*
 * Parses an amount typed in the page's language into minor units of @p currency.
 * German: "1.234,56", "1234,56", "1234", "1.234" (= 1234), ",5"; English: "1,234.56", "1234.56".
 * The grouping separator is accepted only in groups of three, so "12.50" in German is an error
 * rather than 1250 cents. Spaces are ignored.
 * Returns {value: integer | null (empty)} or {error: 'format' | 'decimals' | 'range', digits}.
 */
export function parseAmount(text, currency, language = lang()) {
  const decimalSep = language === 'de' ? ',' : '.';
  const groupSep = language === 'de' ? '.' : ',';
  const digits = currencyDigits(currency);
  let s = String(text ?? '').replace(/[\s\u00a0\u202f]/g, '');
  if (s === '') return { value: null };
  let sign = 1n;
  if (s[0] === '-' || s[0] === '\u2212') {
    sign = -1n;
    s = s.slice(1);
  }
  const parts = s.split(decimalSep);
  if (parts.length > 2) return { error: 'format' };
  let [whole, frac = ''] = parts;
  if (whole === '' && frac === '') return { error: 'format' };
  if (whole.includes(groupSep)) {
    const g = groupSep === '.' ? '\\.' : ',';
    if (!new RegExp(`^\\d{1,3}(${g}\\d{3})+$`).test(whole)) return { error: 'format' };
    whole = whole.split(groupSep).join('');
  }
  if (!/^\d*$/.test(whole) || !/^\d*$/.test(frac)) return { error: 'format' };
  if (frac.length > digits) return { error: 'decimals', digits };
  const minor =
    BigInt(whole || '0') * 10n ** BigInt(digits) + BigInt(frac.padEnd(digits, '0') || '0');
  if (minor > MAX_MINOR) return { error: 'range' };
  return { value: Number(sign * minor) };
}

/* Basis points to "92 %" / "92.5 %", rounded down to 0.1 so 8999 never shows as 90 %. */
export function percent(bp) {
  if (bp === null || bp === undefined) return '–';
  const tenths = Math.floor(bp / 10);
  return numberFormat({ style: 'percent', maximumFractionDigits: 1 }).format(tenths / 1000);
}

/* A time (ms since the epoch) in the shop's zone. */
export function dateTime(ms) {
  if (!ms) return '–';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone })
    .format(new Date(ms));
}

export function isoDateTime(ms) {
  return ms ? new Date(ms).toISOString() : '';
}

/* "2026-11" -> "November 2026" (a month is already the shop's month: no zone conversion). */
export function monthLabel(ym) {
  const m = /^(\d{4})-(\d{2})$/.exec(ym || '');
  if (!m) return ym || '';
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 15));
  return new Intl.DateTimeFormat(locale(), { month: 'long', year: 'numeric', timeZone: 'UTC' })
    .format(d);
}

/* The current month in the shop's zone, "YYYY-MM". */
export function currentMonth() {
  const parts = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', timeZone })
    .formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}`;
}

/* The fiscal year today (the calendar year it starts in), for a fiscal year starting in month
 * @p startMonth (1..12). */
export function currentFiscalYear(startMonth = 1) {
  const [y, m] = currentMonth().split('-').map(Number);
  return m >= startMonth ? y : y - 1;
}
