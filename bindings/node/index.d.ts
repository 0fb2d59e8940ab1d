// Type declarations of the b2bbudget Node.js module (idiomatic layer over the SWIG addon).
// Amounts are Numbers of minor units (safe integers, |n| <= 2^53 - 1) or decimal strings.

export type Amount = number | string | bigint;
/** An enum member's value, or its stable name ('pending_approval'). */
type EnumArg<T> = T | string;

export class B2bError extends Error {
  constructor(status: number, detail?: string);
  readonly name: 'B2bError';
  /** Stable machine-readable code, e.g. 'months_exceed_annual'. */
  readonly code: string;
  /** The C status number (negative). */
  readonly status: number;
}

export const Status: Readonly<Record<string, number>>;
export const Lang: Readonly<{ DE: 0; EN: 1 }>;
export const Basis: Readonly<{ NET: 0; GROSS: 1; GOODS: 2 }>;
export const Level: Readonly<{ UNSET: 0; WITHIN: 1; NEAR: 2; OVER: 3; CURRENCY_MISMATCH: 4 }>;
export const Scope: Readonly<{ LOCATION: 0; COMPANY: 1 }>;
export const Period: Readonly<{ MONTH: 0; YEAR: 1 }>;
export const State: Readonly<{
  NONE: 0; DRAFT: 1; PENDING_APPROVAL: 2; CHANGES_REQUESTED: 3; APPROVED: 4; COMPLETED: 5;
  FAILED: 6; CANCELLED: 7;
}>;
export const Event: Readonly<{
  RECEIVED: 0; SUBMIT: 1; APPROVE: 2; REQUEST_CHANGES: 3; WITHDRAW: 4; REVISED: 5;
  COMPLETED: 6; COMPLETION_FAILED: 7; RETRY: 8; DELETED: 9;
}>;
export const Source: Readonly<{ SHOPIFY: 0; USER: 1; STAFF: 2 }>;
export const Usage: Readonly<{ NONE: 0; SPENT: 1; RESERVED: 2 }>;
export const Role: Readonly<{ COMPANY_ADMIN: 0; BUDGET_ADMIN: 1; APPROVER: 2; REQUESTER: 3 }>;
export const Action: Readonly<{
  VIEW: 0; SUBMIT: 1; APPROVE: 2; REQUEST_CHANGES: 3; WITHDRAW: 4; MANAGE_BUDGETS: 5;
  MANAGE_USERS: 6;
}>;
export const Reason: Readonly<{
  ROLE: 0; LOCATION: 1; STATE: 2; BUDGET_OVER: 3; CURRENCY_MISMATCH: 4; FOUR_EYES: 5;
  NOT_SUBMITTER: 6; NOTE_REQUIRED: 7;
}>;
export const OverBudget: Readonly<{ BLOCK: 0; ADMIN_OVERRIDE: 1 }>;

export type LangArg = EnumArg<number>; // Lang.DE / Lang.EN / 'de' / 'en'

export const MONEY_MAX: number;
export const NEAR_DEFAULT_BP: number;

export function version(): string;
export function versionNumber(): number;

export function memberName(enumObj: Readonly<Record<string, number>>, value: number): string | null;
export function levelName(level: EnumArg<number>): string;
export function levelLabel(level: EnumArg<number>, lang?: LangArg): string;
export function levelBlocks(level: EnumArg<number>): boolean;
export function levelFromName(name: string): number;
export function scopeName(scope: EnumArg<number>): string;
export function periodName(period: EnumArg<number>): string;
export function stateName(state: EnumArg<number>): string;
export function stateLabel(state: EnumArg<number>, lang?: LangArg): string;
export function stateFromName(name: string): number;
export function eventName(event: EnumArg<number>): string;
export function eventLabel(event: EnumArg<number>, lang?: LangArg): string;
export function eventFromName(name: string): number;
export function roleName(role: EnumArg<number>): string;
export function roleLabel(role: EnumArg<number>, lang?: LangArg): string;
export function roleFromName(name: string): number;
export function actionName(action: EnumArg<number>): string;
export function actionFromName(name: string): number;
export function reasonCode(reason: EnumArg<number>): string;
export function reasonMessage(reason: EnumArg<number>, lang?: LangArg): string;
export function basisName(basis: EnumArg<number>): string;

export function currencyExponent(currency: string): number;
export function parseMoney(text: string, currency: string): number;
export function formatMoney(amount: number | bigint, currency: string): string;
export function displayMoney(amount: Amount, currency: string, lang?: LangArg): string;
export function addMoney(a: Amount, b: Amount, currency: string): string;
export function subMoney(a: Amount, b: Amount, currency: string): string;
export function mulMoney(amount: Amount, factor: number, currency: string): string;
export function basisAmount(basis: EnumArg<number>, total: Amount, tax: Amount,
  subtotal: Amount, currency?: string): number;

export interface PlanOptions {
  annual?: Amount | null;
  currency?: string;
  months?: Record<string, Amount | null> | Map<number, Amount | null>;
  startMonth?: number;
  rollover?: boolean;
}

export class Plan {
  constructor(options?: PlanOptions);
  readonly currency: string;
  readonly startMonth: number;
  readonly rollover: boolean;
  readonly annual: string | null;
  readonly annualMinor: number | null;
  enteredMinor(month: number): number | null;
  month(month: number): string | null;
  monthMinor(month: number): number | null;
  period(month: number): string | null;
  periodMinor(month: number): number | null;
  months(): Array<string | null>;
}

export function fiscalPosition(year: number, month: number, startMonth?: number):
  Readonly<{ fiscalYear: number; index: number }>;

export interface OrderAmounts {
  shopAmount: Amount;
  shopCurrency: string;
  presentmentAmount?: Amount | null;
  presentmentCurrency?: string | null;
}

export interface BudgetInput {
  scope: EnumArg<number>;
  period: EnumArg<number>;
  /** null: no budget for this scope and period. */
  amount: Amount | null;
  spent?: Amount;
  reserved?: Amount;
  /** Defaults to the order's shop currency. */
  currency?: string;
}

export class CheckLine {
  readonly scope: number;
  readonly period: number;
  readonly level: number;
  readonly budget: number;
  readonly amount: number;
  readonly used: number;
  readonly after: number;
  readonly availableBefore: number;
  readonly availableAfter: number;
  /** -1 when unset, zero budget or currency mismatch. */
  readonly percentBp: number;
  readonly currency: string;
  readonly blocks: boolean;
  explain(lang?: LangArg): string;
}

export interface CheckResult {
  readonly worst: number;
  readonly blocks: boolean;
  readonly lines: readonly CheckLine[];
  explain(lang?: LangArg): string[];
}

export function check(args: {
  order: OrderAmounts;
  budgets: BudgetInput[];
  nearBp?: number;
}): CheckResult;

export interface Case {
  readonly state: number;
  readonly contentVersion: number;
  readonly approvedVersion: number;
  readonly completedWithoutApproval: boolean;
}

export function newCase(): Case;
export function applyEvent(current: Partial<Case> & { state?: EnumArg<number> },
  event: EnumArg<number>, contentVersion?: number): Case;
export function nextState(state: EnumArg<number>, event: EnumArg<number>): number;
export function stateAllows(state: EnumArg<number>, event: EnumArg<number>): boolean;
export function stateIsOpen(state: EnumArg<number>): boolean;
export function stateUsage(state: EnumArg<number>): number;
export function eventSource(event: EnumArg<number>): number;

export interface ActorOptions {
  role: EnumArg<number>;
  locations?: number[];
  submitted?: boolean;
}

export class Actor {
  constructor(options: ActorOptions);
  readonly role: number;
  assigned(locationId: number): boolean;
}

export interface Decision {
  readonly allowed: boolean;
  readonly override: boolean;
  readonly reasons: readonly number[];
  messages(lang?: LangArg): string[];
}

export function decide(args: {
  actor: Actor | ActorOptions;
  action: EnumArg<number>;
  order?: { locationId?: number; state?: EnumArg<number>; level?: EnumArg<number> } | null;
  policy?: { overBudget?: EnumArg<number>; fourEyes?: boolean } | null;
  hasNote?: boolean;
}): Decision;

export function roleFromShopify(isMainContact: boolean, shopifyRole?: string | null): number;

/** The SWIG wrapper itself: internal, mirrors the C API, no stability promise. */
export const raw: any;
