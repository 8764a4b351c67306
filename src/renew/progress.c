#include "renew/progress.h"

#include "base/log.h"

static void
show(const struct progress *p)
{
	if (!log_is_tty()) {
		return;
	}
	if (p->finished == p->total) {
		log_status_clear();
		return;
	}
	log_status("acmed: %lu/%lu done, ordering %lu, validating %lu, finalizing %lu, "
	           "downloading %lu",
	           p->finished, p->total, p->in_step[ACME_ORDER_STEP_ORDERING],
	           p->in_step[ACME_ORDER_STEP_VALIDATING], p->in_step[ACME_ORDER_STEP_FINALIZING],
	           p->in_step[ACME_ORDER_STEP_DOWNLOADING]);
}

void
progress_step(struct progress *p, bool had, enum acme_order_step was, bool has,
              enum acme_order_step now)
{
	if (had) {
		p->in_step[was]--;
	}
	if (has) {
		p->in_step[now]++;
	}
	show(p);
}

void
progress_finished(struct progress *p)
{
	p->finished++;
	show(p);
}
