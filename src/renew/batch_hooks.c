#include "renew/batch_hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "io/hook.h"

/* Names of a batch in the environment: at most this much. */
#define NAMES_MAX (64 * 1024)

enum batch_state {
	BATCH_IDLE, /* no batch */
	BATCH_GATHERING, /* the first job waits for others */
	BATCH_PRE, /* the pre-hook runs */
	BATCH_OPEN, /* the pre-hook ran (or failed): jobs go at once */
	BATCH_POST, /* the post-hook runs; jobs that come wait for the next batch */
};

struct member {
	char *name;
	batch_go_fn go;
	void *arg;
	bool going; /* go was called: it orders (or failed) */
};

struct batch_hooks {
	struct ev_loop *loop;
	char *pre;
	char *post;
	long timeout_s;
	bool post_when_idle;
	enum batch_state state;
	char failed[1024]; /* "" or why the pre-hook of this batch failed */
	bool hook_failed; /* a hook failed since b was made */
	struct member *m;
	size_t n;
	size_t cap;
	struct buf names; /* every certificate of the batch, for the post-hook */
	struct hook *hook; /* running, or NULL */
	ev_timer gather;
};

static void start_batch(struct batch_hooks *b);

/* "pre-hook 'CMD'" for messages. */
static void
hook_label(const struct batch_hooks *b, bool pre, char *out, size_t len)
{
	const char *cmd = pre ? b->pre : b->post;

	snprintf(out, len, "%s '%.200s'", pre ? "pre-hook" : "post-hook", cmd != NULL ? cmd : "");
}

/* Names of the members (all, or those waiting) into a new buf. */
static void
member_names(const struct batch_hooks *b, bool waiting_only, struct buf *out)
{
	buf_init(out, NAMES_MAX);
	buf_add(out, "ACMED_CERT_NAMES=", 17);
	for (size_t i = 0; i < b->n; i++) {
		if (!waiting_only || !b->m[i].going) {
			if (out->data[out->len - 1] != '=') {
				buf_add(out, " ", 1);
			}
			buf_add(out, b->m[i].name, strlen(b->m[i].name));
		}
	}
}

static void on_pre_done(int status, const char *why, const char *output, void *arg);
static void on_post_done(int status, const char *why, const char *output, void *arg);

/* Starts the hook command with the names; 0, or -1 with why. */
static int
run_hook(struct batch_hooks *b, bool pre, char *names, char *why, size_t len)
{
	char stage[] = "ACMED_HOOK=post";
	char *env[] = {names, stage, NULL};
	char **argv = hook_split(pre ? b->pre : b->post);
	char label[256];
	int rc = -1;

	if (pre) {
		snprintf(stage, sizeof(stage), "ACMED_HOOK=pre");
	}
	hook_label(b, pre, label, sizeof(label));
	if (argv == NULL) {
		snprintf(why, len, "%s is not a command", label);
		goto out;
	}
	log_info("%s: running for %s", label, names + 17);
	b->hook = hook_run(b->loop, argv, env, (double)b->timeout_s,
	                   pre ? on_pre_done : on_post_done, b);
	if (b->hook == NULL) {
		snprintf(why, len, "%s could not start", label);
		goto out;
	}
	rc = 0;
out:
	hook_argv_free(argv);
	return rc;
}

/* The waiting members go, with b->failed. go may leave (and so change
 * b->m): each is looked for again. */
static void
release_waiters(struct batch_hooks *b)
{
	bool again = true;

	while (again) {
		again = false;
		for (size_t i = 0; i < b->n; i++) {
			if (!b->m[i].going) {
				b->m[i].going = true;
				b->m[i].go(b->failed[0] != '\0' ? b->failed : NULL, b->m[i].arg);
				again = true;
				break;
			}
		}
	}
}

/* What a hook printed, on one line without trailing blanks, into out. */
static void
one_line(const char *output, char *out, size_t len)
{
	size_t n;

	snprintf(out, len, "%s", output != NULL ? output : "");
	for (char *p = out; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			*p = ' ';
		}
	}
	n = strlen(out);
	while (n > 0 && out[n - 1] == ' ') {
		out[--n] = '\0';
	}
}

/* The pre-hook is over (or never started): the batch is open. */
static void
pre_over(struct batch_hooks *b, int status, const char *why, const char *output)
{
	char label[256];
	char said[512];

	b->hook = NULL;
	hook_label(b, true, label, sizeof(label));
	one_line(output, said, sizeof(said));
	if (status != 0) {
		/* Each job of the batch logs it, and keeps it as its error. */
		snprintf(b->failed, sizeof(b->failed), "not ordered: %s failed: %s%s%s", label,
		         why != NULL ? why : "error", said[0] != '\0' ? ": " : "", said);
		b->hook_failed = true;
	} else if (said[0] != '\0') {
		log_info("%s: %s", label, said);
	}
	b->state = BATCH_OPEN;
	release_waiters(b);
	batch_hooks_idle(b);
}

static void
on_pre_done(int status, const char *why, const char *output, void *arg)
{
	pre_over(arg, status, why, output);
}

static void
on_post_done(int status, const char *why, const char *output, void *arg)
{
	struct batch_hooks *b = arg;
	char label[256];
	char said[512];

	b->hook = NULL;
	hook_label(b, false, label, sizeof(label));
	one_line(output, said, sizeof(said));
	if (status != 0) {
		b->hook_failed = true;
		log_error("%s failed: %s%s%s", label, why != NULL ? why : "error",
		          said[0] != '\0' ? ": " : "", said);
	} else if (said[0] != '\0') {
		log_info("%s: %s", label, said);
	}
	buf_finish(&b->names);
	b->state = BATCH_IDLE;
	b->failed[0] = '\0';
	/* Jobs that came while it ran: the next batch. */
	if (b->n > 0) {
		start_batch(b);
	}
}

static void
on_gather(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct batch_hooks *b = w->data;
	struct buf names;
	char why[512];

	(void)loop;
	(void)revents;
	b->state = BATCH_PRE;
	if (b->pre == NULL) {
		pre_over(b, 0, NULL, NULL);
		return;
	}
	member_names(b, true, &names);
	if (names.failed || run_hook(b, true, names.data, why, sizeof(why)) < 0) {
		buf_finish(&names);
		pre_over(b, -1, names.failed ? "out of memory" : why, NULL);
		return;
	}
	buf_finish(&names);
}

static void
start_batch(struct batch_hooks *b)
{
	b->state = BATCH_GATHERING;
	buf_init(&b->names, NAMES_MAX);
	buf_add(&b->names, "ACMED_CERT_NAMES=", 17);
	for (size_t i = 0; i < b->n; i++) {
		if (b->names.data[b->names.len - 1] != '=') {
			buf_add(&b->names, " ", 1);
		}
		buf_add(&b->names, b->m[i].name, strlen(b->m[i].name));
	}
	ev_timer_set(&b->gather, BATCH_HOOKS_GATHER, 0.0);
	ev_timer_start(b->loop, &b->gather);
}

struct batch_hooks *
batch_hooks_create(struct ev_loop *loop, const char *pre, const char *post, long timeout_s,
                   bool post_when_idle)
{
	struct batch_hooks *b = NULL;

	if (pre == NULL && post == NULL && !post_when_idle) {
		goto out;
	}
	b = calloc(1, sizeof(*b));
	if (b != NULL) {
		b->pre = pre != NULL ? strdup(pre) : NULL;
		b->post = post != NULL ? strdup(post) : NULL;
	}
	if (b == NULL || (pre != NULL && b->pre == NULL) || (post != NULL && b->post == NULL)) {
		log_error("out of memory");
		batch_hooks_destroy(b);
		b = NULL;
		goto out;
	}
	b->loop = loop;
	b->timeout_s = timeout_s > 0 ? timeout_s : 120;
	b->post_when_idle = post_when_idle;
	ev_init(&b->gather, on_gather);
	b->gather.data = b;
out:
	return b;
}

int
batch_hooks_set(struct batch_hooks *b, const char *pre, const char *post, long timeout_s)
{
	char *p = pre != NULL ? strdup(pre) : NULL;
	char *q = post != NULL ? strdup(post) : NULL;

	if ((pre != NULL && p == NULL) || (post != NULL && q == NULL)) {
		log_error("out of memory");
		free(p);
		free(q);
		return -1;
	}
	free(b->pre);
	free(b->post);
	b->pre = p;
	b->post = q;
	b->timeout_s = timeout_s > 0 ? timeout_s : 120;
	return 0;
}

bool
batch_hooks_any(const struct batch_hooks *b)
{
	return b != NULL && (b->pre != NULL || b->post != NULL);
}

bool
batch_hooks_has_post(const struct batch_hooks *b)
{
	return b != NULL && b->post != NULL;
}

void
batch_hooks_destroy(struct batch_hooks *b)
{
	if (b == NULL) {
		return;
	}
	ev_timer_stop(b->loop, &b->gather);
	hook_cancel(b->hook);
	for (size_t i = 0; i < b->n; i++) {
		free(b->m[i].name);
	}
	free(b->m);
	buf_finish(&b->names);
	free(b->pre);
	free(b->post);
	free(b);
}

void
batch_hooks_enter(struct batch_hooks *b, const char *name, batch_go_fn go, void *arg)
{
	struct member *grown;

	if (b->n == b->cap) {
		grown = realloc(b->m, (b->cap * 2 + 8) * sizeof(*grown));
		if (grown == NULL) {
			go("not ordered: out of memory", arg);
			return;
		}
		b->m = grown;
		b->cap = b->cap * 2 + 8;
	}
	b->m[b->n].name = strdup(name);
	if (b->m[b->n].name == NULL) {
		go("not ordered: out of memory", arg);
		return;
	}
	b->m[b->n].go = go;
	b->m[b->n].arg = arg;
	b->m[b->n].going = false;
	b->n++;
	switch (b->state) {
	case BATCH_IDLE:
		start_batch(b);
		break;
	case BATCH_GATHERING:
	case BATCH_PRE:
		if (b->names.len > 17) {
			buf_add(&b->names, " ", 1);
		}
		buf_add(&b->names, name, strlen(name));
		break;
	case BATCH_OPEN:
		buf_add(&b->names, " ", 1);
		buf_add(&b->names, name, strlen(name));
		release_waiters(b);
		break;
	case BATCH_POST:
		break;
	}
}

void
batch_hooks_leave(struct batch_hooks *b, void *arg)
{
	for (size_t i = 0; b != NULL && i < b->n; i++) {
		if (b->m[i].arg == arg) {
			free(b->m[i].name);
			b->m[i] = b->m[--b->n];
			break;
		}
	}
}

/* Runs the post-hook of an open batch whose jobs are all over. */
static void
post(struct batch_hooks *b)
{
	char why[512];

	if (b->state != BATCH_OPEN || b->n > 0) {
		return;
	}
	b->state = BATCH_POST;
	if (b->post == NULL || b->names.failed) {
		on_post_done(b->names.failed ? -1 : 0, "out of memory", NULL, b);
		return;
	}
	if (run_hook(b, false, b->names.data, why, sizeof(why)) < 0) {
		on_post_done(-1, why, NULL, b);
	}
}

void
batch_hooks_idle(struct batch_hooks *b)
{
	if (b != NULL && b->post_when_idle) {
		post(b);
	}
}

int
batch_hooks_finish(struct batch_hooks *b)
{
	if (b == NULL) {
		return 0;
	}
	/* A pre-hook still running (its jobs gone) ends first. */
	while (b->state != BATCH_IDLE && b->n == 0) {
		if (b->state == BATCH_OPEN) {
			post(b);
		} else {
			ev_run(b->loop, EVRUN_ONCE);
		}
	}
	return b->hook_failed ? -1 : 0;
}
