#include "renew/caa_check.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"

/* What one answer may hold, copied (a DNS message holds at most 64 KiB;
 * past these the answer counts as failed). */
#define ANSWER_MAX_RECORDS 256
#define ANSWER_MAX_BYTES 65536

static const char *const status_names[CAA_ANSWER__MAX] = {
        [CAA_ANSWER_RECORDS] = "records",
        [CAA_ANSWER_EMPTY] = "empty",
        [CAA_ANSWER_NXDOMAIN] = "nxdomain",
        [CAA_ANSWER_FAILED] = "failed",
};

enum query_state {
	QUERY_IDLE, /* not asked (yet) */
	QUERY_PENDING,
	QUERY_DONE,
	QUERY_CANCELLED,
};

/* One name looked up, shared by the identifiers that climb through it. */
struct query {
	struct caa_check *check;
	char *name; /* its key in check->by_name */
	enum query_state state;
	void *handle; /* QUERY_PENDING */
	size_t users; /* undecided identifiers with it among their levels */
	enum caa_answer_status status; /* QUERY_DONE */
	struct caa_record *records; /* a copy: one allocation with the bytes */
	size_t n_records;
	char error[128];
};

/* One identifier of the order. */
struct item {
	char *given;
	bool wildcard;
	bool decided;
	struct query **levels; /* the name, then each parent up to its TLD */
	size_t n_levels;
	struct caa_result result;
};

struct caa_check {
	struct ev_loop *loop;
	ev_timer later; /* done when the check ended inside caa_check_start */
	const struct caa_lookup_ops *ops;
	void *ctx;
	struct caa_request req; /* pointing at the copies below */
	char **ca_ids;
	char *account_uri;
	char *method;
	struct item *items;
	size_t n_items;
	struct query **queries; /* in the order they are asked */
	size_t n_queries;
	struct strmap by_name;
	size_t undecided;
	bool starting; /* inside caa_check_start */
	bool finished; /* done called or on its way */
	caa_check_done_fn done;
	void *arg;
};

const char *
caa_answer_status_name(enum caa_answer_status s)
{
	return (unsigned)s < CAA_ANSWER__MAX ? status_names[s] : "?";
}

static void __attribute__((format(printf, 2, 3)))
set_reason(struct caa_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* Keeps a copy of what ans found (its records are the lookup's). */
static void
keep_answer(struct query *q, const struct caa_answer *ans)
{
	size_t bytes = 0;
	char *at;

	q->status = ans->status;
	if (q->status == CAA_ANSWER_RECORDS && ans->n_records == 0) {
		q->status = CAA_ANSWER_EMPTY;
	}
	if ((unsigned)q->status >= CAA_ANSWER__MAX) {
		q->status = CAA_ANSWER_FAILED;
		snprintf(q->error, sizeof(q->error), "an answer of no known status");
	} else if (q->status == CAA_ANSWER_FAILED) {
		snprintf(q->error, sizeof(q->error), "%s",
		         ans->error != NULL ? ans->error : "failed");
	}
	if (q->status != CAA_ANSWER_RECORDS) {
		goto out;
	}
	for (size_t i = 0; i < ans->n_records && bytes <= ANSWER_MAX_BYTES; i++) {
		bytes += ans->records[i].tag_len + ans->records[i].value_len;
	}
	if (ans->n_records > ANSWER_MAX_RECORDS || bytes > ANSWER_MAX_BYTES) {
		q->status = CAA_ANSWER_FAILED;
		snprintf(q->error, sizeof(q->error), "%zu CAA records, more than acmed reads",
		         ans->n_records);
		goto out;
	}
	q->records = malloc(ans->n_records * sizeof(*q->records) + bytes + 1);
	if (q->records == NULL) {
		q->status = CAA_ANSWER_FAILED;
		snprintf(q->error, sizeof(q->error), "out of memory");
		goto out;
	}
	at = (char *)(q->records + ans->n_records);
	for (size_t i = 0; i < ans->n_records; i++) {
		const struct caa_record *r = &ans->records[i];

		q->records[i] = *r;
		q->records[i].tag = at;
		memcpy(at, r->tag, r->tag_len);
		at += r->tag_len;
		q->records[i].value = (const uint8_t *)at;
		memcpy(at, r->value, r->value_len);
		at += r->value_len;
	}
	q->n_records = ans->n_records;
out:
	return;
}

/* Decides it when its levels tell: the first with records, or a failure
 * before one. Returns whether it is decided. */
static bool
try_decide(struct caa_check *c, struct item *it)
{
	size_t k = 0;
	struct query *q = NULL;
	bool decided;

	/* The levels that answered without records are passed over. */
	while (k < it->n_levels && it->levels[k]->state == QUERY_DONE &&
	       (it->levels[k]->status == CAA_ANSWER_EMPTY ||
	        it->levels[k]->status == CAA_ANSWER_NXDOMAIN)) {
		k++;
	}
	if (k < it->n_levels) {
		q = it->levels[k];
	}
	decided = q == NULL || q->state == QUERY_DONE;
	if (!decided) {
		goto out;
	}
	if (q == NULL) {
		it->result.verdict = CAA_ALLOWED;
		set_reason(&it->result, "no CAA records at %s or its parents", it->levels[0]->name);
	} else if (q->status == CAA_ANSWER_FAILED) {
		it->result.verdict = CAA_UNCHECKED;
		set_reason(&it->result, "could not check: CAA of %s: %s", q->name, q->error);
	} else {
		caa_decide(&c->req, q->name, q->records, q->n_records, it->wildcard, &it->result);
	}
out:
	return decided;
}

static void
cancel(struct caa_check *c, struct query *q)
{
	void *handle = q->handle;

	/* Marked first: a lookup that answered from inside cancel would
	 * find the query over. */
	q->state = QUERY_CANCELLED;
	q->handle = NULL;
	c->ops->cancel(c->ctx, handle);
}

static void
finish(struct caa_check *c)
{
	if (c->finished) {
		return;
	}
	c->finished = true;
	if (c->starting) {
		ev_timer_start(c->loop, &c->later);
		return;
	}
	c->done(c, c->arg);
}

/* Decides what the answers so far tell, lets go of the lookups nobody
 * waits for any more, and ends the check when all is decided (c may be
 * freed then). */
static void
settle(struct caa_check *c)
{
	for (size_t i = 0; i < c->n_items; i++) {
		struct item *it = &c->items[i];

		if (it->decided || !try_decide(c, it)) {
			continue;
		}
		it->decided = true;
		c->undecided--;
		for (size_t k = 0; k < it->n_levels; k++) {
			struct query *q = it->levels[k];

			q->users--;
			if (q->users == 0 && q->state == QUERY_PENDING) {
				cancel(c, q);
			}
		}
	}
	if (c->undecided == 0) {
		finish(c);
	}
}

static void
on_answer(void *arg, const struct caa_answer *answer)
{
	struct query *q = arg;

	if (q->state != QUERY_PENDING) {
		return;
	}
	q->state = QUERY_DONE;
	q->handle = NULL;
	keep_answer(q, answer);
	settle(q->check);
}

static void
on_later(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct caa_check *c = w->data;

	(void)revents;
	ev_timer_stop(loop, w);
	c->done(c, c->arg);
}

/* The query of name (len bytes), made when new. NULL when out of
 * memory. */
static struct query *
query_for(struct caa_check *c, const char *name, size_t len)
{
	struct query *q = NULL;
	char *key = strndup(name, len);

	if (key == NULL) {
		goto out;
	}
	q = strmap_get(&c->by_name, key);
	if (q != NULL) {
		goto out;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		goto out;
	}
	q->check = c;
	q->name = key;
	c->queries[c->n_queries++] = q;
	key = NULL;
	if (strmap_put(&c->by_name, q->name, q) < 0) {
		q = NULL;
	}
out:
	free(key);
	return q;
}

/* The levels of it: name (len bytes, lower case, checked) and each parent
 * up to its TLD. Returns 0, or -1 when out of memory. */
static int
climb(struct caa_check *c, struct item *it, const char *name, size_t len)
{
	size_t labels = 1;
	int rc = -1;

	for (size_t i = 0; i < len; i++) {
		labels += name[i] == '.';
	}
	it->levels = calloc(labels, sizeof(*it->levels));
	if (it->levels == NULL) {
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && name[i - 1] != '.') {
			continue;
		}
		it->levels[it->n_levels] = query_for(c, name + i, len - i);
		if (it->levels[it->n_levels] == NULL) {
			goto out;
		}
		it->levels[it->n_levels++]->users++;
	}
	rc = 0;
out:
	return rc;
}

/* Whether name (len bytes) is a DNS name to climb: 1 to 253 bytes, no
 * empty label. */
static bool
climbable(const char *name, size_t len)
{
	bool ok = len > 0 && len <= IDENT_DNS_MAX && name[0] != '.' && name[len - 1] != '.';

	for (size_t i = 1; i < len && ok; i++) {
		ok = !(name[i] == '.' && name[i - 1] == '.');
	}
	return ok;
}

/* Sets it up for id: decided at once when an IP address or no DNS name,
 * else its levels. Returns 0, or -1 when out of memory. */
static int
item_init(struct caa_check *c, struct item *it, const struct ident *id)
{
	const char *name = id->value;
	char lower[IDENT_DNS_MAX + 2];
	size_t len;
	int rc = -1;

	it->given = strdup(id->value);
	if (it->given == NULL) {
		goto out;
	}
	if (id->type == IDENT_IP || (id->type != IDENT_DNS && ident_type_of(name) == IDENT_IP)) {
		it->decided = true;
		it->result.verdict = CAA_ALLOWED;
		set_reason(&it->result, "not checked: an IP address (CAA is for domain names)");
		rc = 0;
		goto out;
	}
	if (strncmp(name, "*.", 2) == 0) {
		it->wildcard = true;
		name += 2;
	}
	len = strlen(name);
	/* A fully qualified name's trailing dot names no other level. */
	if (len > 0 && name[len - 1] == '.') {
		len--;
	}
	if (!climbable(name, len)) {
		it->decided = true;
		it->result.verdict = CAA_UNCHECKED;
		set_reason(&it->result, "could not check: not a DNS name");
		rc = 0;
		goto out;
	}
	/* DNS names are case-insensitive: one query per name, however the
	 * identifiers spell it. */
	for (size_t i = 0; i < len; i++) {
		lower[i] = (char)tolower((unsigned char)name[i]);
	}
	lower[len] = '\0';
	c->undecided++;
	rc = climb(c, it, lower, len);
out:
	return rc;
}

static int
copy_request(struct caa_check *c, const struct caa_request *req)
{
	int rc = -1;

	if (req->n_ca_ids > 0) {
		c->ca_ids = calloc(req->n_ca_ids, sizeof(*c->ca_ids));
		if (c->ca_ids == NULL) {
			goto out;
		}
	}
	for (size_t i = 0; i < req->n_ca_ids; i++) {
		c->ca_ids[i] = strdup(req->ca_ids[i]);
		if (c->ca_ids[i] == NULL) {
			goto out;
		}
		c->req.n_ca_ids++;
	}
	c->req.ca_ids = (const char *const *)c->ca_ids;
	if (req->account_uri != NULL) {
		c->account_uri = strdup(req->account_uri);
		if (c->account_uri == NULL) {
			goto out;
		}
	}
	if (req->method != NULL) {
		c->method = strdup(req->method);
		if (c->method == NULL) {
			goto out;
		}
	}
	c->req.account_uri = c->account_uri;
	c->req.method = c->method;
	rc = 0;
out:
	return rc;
}

/* Asks each query some undecided identifier waits for. Answers may come
 * inside, deciding names (and ending the check: finish defers done). */
static void
ask(struct caa_check *c)
{
	for (size_t i = 0; i < c->n_queries; i++) {
		struct query *q = c->queries[i];
		void *handle = NULL;

		if (q->users == 0 || q->state != QUERY_IDLE) {
			continue;
		}
		q->state = QUERY_PENDING;
		if (c->ops->query(c->ctx, q->name, on_answer, q, &handle) < 0) {
			if (q->state == QUERY_PENDING) {
				q->state = QUERY_DONE;
				q->status = CAA_ANSWER_FAILED;
				snprintf(q->error, sizeof(q->error), "the lookup could not start");
				settle(c);
			}
		} else if (q->state == QUERY_PENDING) {
			q->handle = handle;
		}
	}
}

struct caa_check *
caa_check_start(struct ev_loop *loop, const struct caa_lookup_ops *ops, void *ctx,
                const struct caa_request *req, const struct ident *ids, size_t n,
                caa_check_done_fn done, void *arg)
{
	struct caa_check *c = NULL;
	size_t max_queries = 0;

	if (n == 0) {
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		goto out;
	}
	c->loop = loop;
	c->ops = ops;
	c->ctx = ctx;
	c->done = done;
	c->arg = arg;
	ev_timer_init(&c->later, on_later, 0., 0.);
	c->later.data = c;
	strmap_init(&c->by_name);
	for (size_t i = 0; i < n; i++) {
		/* Each label starts a level. */
		max_queries++;
		for (const char *p = ids[i].value; *p != '\0'; p++) {
			max_queries += *p == '.';
		}
	}
	c->items = calloc(n, sizeof(*c->items));
	c->queries = calloc(max_queries, sizeof(*c->queries));
	if (c->items == NULL || c->queries == NULL || copy_request(c, req) < 0) {
		goto fail;
	}
	for (; c->n_items < n; c->n_items++) {
		if (item_init(c, &c->items[c->n_items], &ids[c->n_items]) < 0) {
			c->n_items++;
			goto fail;
		}
	}
	c->starting = true;
	ask(c);
	if (c->undecided == 0) {
		finish(c);
	}
	c->starting = false;
	goto out;
fail:
	caa_check_destroy(c);
	c = NULL;
out:
	return c;
}

void
caa_check_destroy(struct caa_check *c)
{
	if (c == NULL) {
		return;
	}
	ev_timer_stop(c->loop, &c->later);
	for (size_t i = 0; i < c->n_queries; i++) {
		if (c->queries[i]->state == QUERY_PENDING) {
			cancel(c, c->queries[i]);
		}
	}
	for (size_t i = 0; i < c->n_queries; i++) {
		free(c->queries[i]->name);
		free(c->queries[i]->records);
		free(c->queries[i]);
	}
	for (size_t i = 0; i < c->n_items; i++) {
		free(c->items[i].given);
		free(c->items[i].levels);
	}
	for (size_t i = 0; i < c->req.n_ca_ids; i++) {
		free(c->ca_ids[i]);
	}
	strmap_finish(&c->by_name);
	free(c->ca_ids);
	free(c->account_uri);
	free(c->method);
	free(c->items);
	free(c->queries);
	free(c);
}

size_t
caa_check_count(const struct caa_check *c)
{
	return c->n_items;
}

const char *
caa_check_name(const struct caa_check *c, size_t i)
{
	return c->items[i].given;
}

const struct caa_result *
caa_check_result(const struct caa_check *c, size_t i)
{
	return &c->items[i].result;
}

enum caa_verdict
caa_check_verdict(const struct caa_check *c, size_t *first)
{
	enum caa_verdict v = CAA_ALLOWED;
	size_t at = 0;

	for (size_t i = 0; i < c->n_items; i++) {
		enum caa_verdict vi = c->items[i].result.verdict;

		if ((vi == CAA_FORBIDDEN && v != CAA_FORBIDDEN) ||
		    (vi == CAA_UNCHECKED && v == CAA_ALLOWED)) {
			v = vi;
			at = i;
		}
	}
	if (first != NULL) {
		*first = at;
	}
	return v;
}

char *
caa_check_summary(const struct caa_check *c, char *buf, size_t len)
{
	size_t first, others = 0;
	enum caa_verdict v = caa_check_verdict(c, &first);
	int n;

	if (len == 0) {
		return buf;
	}
	for (size_t i = first + 1; i < c->n_items; i++) {
		others += c->items[i].result.verdict == v;
	}
	if (v == CAA_ALLOWED) {
		n = snprintf(buf, len, "CAA allows %s",
		             c->n_items > 1 ? "every name" : c->items[0].given);
	} else {
		n = snprintf(buf, len, "%s: %s", c->items[first].given,
		             c->items[first].result.reason);
	}
	if (v != CAA_ALLOWED && n >= 0 && (size_t)n < len && others > 0) {
		snprintf(buf + n, len - (size_t)n, " (and %zu more name%s)", others,
		         others > 1 ? "s" : "");
	}
	return buf;
}

char *const *
caa_check_ca_ids(const struct acme_directory *dir, char *const *conf, size_t n_conf, size_t *n,
                 const char **from)
{
	char *const *ids = NULL;
	const char *where = NULL;

	*n = 0;
	if (dir != NULL && dir->n_caa_identities > 0) {
		ids = dir->caa_identities;
		*n = dir->n_caa_identities;
		where = "meta.caaIdentities";
	} else if (conf != NULL && n_conf > 0) {
		ids = conf;
		*n = n_conf;
		where = "caa-identity";
	}
	if (from != NULL) {
		*from = where;
	}
	return ids;
}

char *
caa_check_refusal(const struct caa_check *c, char *buf, size_t len)
{
	size_t first = 0, others = 0;
	char own[300];
	const char *name;
	const char *reason;
	bool owned;

	caa_check_verdict(c, &first);
	name = caa_check_name(c, first);
	reason = caa_check_result(c, first)->reason;
	for (size_t i = first + 1; i < caa_check_count(c); i++) {
		others += caa_check_result(c, i)->verdict == CAA_FORBIDDEN;
	}
	snprintf(own, sizeof(own), "CAA of %s: ", name);
	owned = strncmp(reason, own, strlen(own)) == 0;
	snprintf(buf, len, "%s%s%s", owned ? "" : name, owned ? "" : ": ", reason);
	if (others > 0 && strlen(buf) + 1 < len) {
		snprintf(buf + strlen(buf), len - strlen(buf), " (and %zu more name%s)", others,
		         others > 1 ? "s" : "");
	}
	return buf;
}
