/*
 * Notifications (DOMAIN.md "Notifications"): which event mails whom. Each mail is one "email"
 * job per recipient in the store's job queue, enqueued inside the transaction of the event, with
 * an idempotency key, so an event mails each recipient exactly once even when it is retried.
 * Blocking: call on worker threads.
 */
#ifndef SRV_NOTIFY_H
#define SRV_NOTIFY_H

#include "b2bbudget.h"
#include "store/store.h"
#include "workflow.h"

/*
 * The mails of @p event that just happened to @p o (already updated; its row_version names the
 * change): received, revised -> requesters and approvers of the location and company admins;
 * submit -> approvers and company admins; approve -> shop staff and the submitter; completed ->
 * the submitter and the approver; request changes -> shop staff (with the note) and the
 * submitter; completion failed -> shop staff; deleted -> everyone who acted on the order. The
 * acting user is not mailed about their own action. *out_jobs (may be NULL) gets the number of
 * new jobs.
 */
int notify_event(db_conn *c, const srv_shop *shop, const srv_order *o, b2b_event event,
                 const wf_actor *actor, const char *note, int64_t now, int *out_jobs);

/*
 * Reminders and escalations: every order pending approval longer than the shop's
 * reminder_hours reminds the approvers of its location (template "reminder"), longer than twice
 * that also the company admins ("escalation"); once per submission each. *out_jobs (may be
 * NULL) gets the number of new jobs.
 */
int notify_reminders(db_conn *c, const srv_shop *shop, int64_t now, int *out_jobs);

#endif
