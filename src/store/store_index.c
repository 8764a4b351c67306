#include "store/store_index.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/log.h"
#include "base/parallel.h"
#include "base/strmap.h"

#define INDEX_NAME "certs.index"
/* The first line; another version's file is ignored (and replaced). */
#define INDEX_MAGIC "acmed certs.index 5\n"
/* A million certificates with a hundred names each stay below it. */
#define INDEX_MAX (512UL * 1024 * 1024)
/* u16 length that means "no string" (a NULL one). */
#define NO_STRING 0xffff

/* One certificate's record: what its set and its state.json held, each
 * with the identity of the files it was read from. */
struct record {
	uint64_t set_id; /* store_cert_identity */
	uint64_t state_id; /* state_identity */
	uint32_t set_len;
	uint32_t state_len;
	bool marked; /* looked up since the last sweep */
	/* Read by store_index_preload, not yet by store_index_read: taken as
	 * it is once, with folder_id the folder's identity from then. */
	bool preloaded;
	uint64_t folder_id;
	unsigned char *data; /* the set's facts, then the state's, after name */
	char name[];
};

struct store_index {
	const char *state_dir;
	/* Held around the map: store_index_read runs on several threads at
	 * once (for different names, so a record itself is never read and
	 * replaced at once). */
	pthread_mutex_t lock;
	struct strmap records; /* name -> struct record */
	bool dirty; /* differs from the file */
	size_t sets_read; /* inspected from the files since open */
	size_t states_read;
	/* certs/ open, so that each certificate's folder is one component to
	 * look up; -1 when it was not there at the open. */
	int certs;
};

/* ---- encoding: little-endian integers, u16-length strings ---- */

static void
put_uint(struct buf *b, uint64_t v, size_t bytes)
{
	unsigned char le[8];

	for (size_t i = 0; i < bytes; i++) {
		le[i] = (unsigned char)(v >> (8 * i));
	}
	buf_add(b, le, bytes);
}

static void
put_time(struct buf *b, int64_t t)
{
	put_uint(b, (uint64_t)t, 8);
}

/* A string of at most NO_STRING - 1 bytes (longer ones are cut), or NULL. */
static void
put_string(struct buf *b, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (s == NULL) {
		put_uint(b, NO_STRING, 2);
		return;
	}
	if (n >= NO_STRING) {
		n = NO_STRING - 1;
	}
	put_uint(b, n, 2);
	buf_add(b, s, n);
}

static void
encode_set(struct buf *b, const struct store_cert_info *info)
{
	put_uint(b, info->present ? 1 : 0, 1);
	put_time(b, info->not_before);
	put_time(b, info->not_after);
	put_time(b, info->version);
	put_string(b, info->problem);
	put_string(b, info->ari_id);
	put_string(b, info->key_type);
	put_string(b, info->issuer);
	put_uint(b, info->n_ids, 4);
	for (size_t i = 0; i < info->n_ids; i++) {
		put_uint(b, (uint64_t)info->ids[i].type, 1);
		put_string(b, info->ids[i].value);
	}
}

static void
encode_state(struct buf *b, const struct state *st)
{
	put_time(b, st->not_after);
	put_time(b, st->last_attempt);
	put_time(b, st->last_success);
	put_time(b, st->attempts);
	put_time(b, st->next_try);
	put_string(b, st->last_error);
	put_string(b, st->order_url);
	put_string(b, st->ca);
	put_uint(b, st->deploy_pending ? 1 : 0, 1);
	put_time(b, st->deploy_attempts);
	put_time(b, st->deploy_next_try);
	put_string(b, st->deploy_error);
	put_time(b, st->version);
	put_string(b, st->ari_id);
	put_time(b, st->ari_when);
	put_time(b, st->ari_next);
	put_time(b, st->fleet_version);
	put_uint(b, st->fleet_owed ? 1 : 0, 1);
	put_string(b, st->ca_fallback);
	put_time(b, st->persist_until);
}

/* Reading back: every get fails (and stays failed) past the end. */
struct reader {
	const unsigned char *p;
	size_t left;
	bool failed;
};

static uint64_t
get_uint(struct reader *r, size_t bytes)
{
	uint64_t v = 0;

	if (r->failed || r->left < bytes) {
		r->failed = true;
		return 0;
	}
	for (size_t i = 0; i < bytes; i++) {
		v |= (uint64_t)r->p[i] << (8 * i);
	}
	r->p += bytes;
	r->left -= bytes;
	return v;
}

static int64_t
get_time(struct reader *r)
{
	return (int64_t)get_uint(r, 8);
}

/* A new string, or NULL (none, or a failure: see r->failed). */
static char *
get_string(struct reader *r)
{
	uint64_t n = get_uint(r, 2);
	char *s;

	if (r->failed || n == NO_STRING) {
		return NULL;
	}
	if (r->left < n) {
		r->failed = true;
		return NULL;
	}
	s = malloc(n + 1);
	if (s == NULL) {
		r->failed = true;
		return NULL;
	}
	memcpy(s, r->p, n);
	s[n] = '\0';
	r->p += n;
	r->left -= n;
	return s;
}

/* 0, or -1 when the bytes do not decode or memory runs out (info then
 * empty). */
static int
decode_set(const unsigned char *p, size_t len, struct store_cert_info *info)
{
	struct reader r = {p, len, false};
	char *problem;
	char *key_type;
	uint64_t n_ids;

	memset(info, 0, sizeof(*info));
	info->present = get_uint(&r, 1) != 0;
	info->not_before = (time_t)get_time(&r);
	info->not_after = (time_t)get_time(&r);
	info->version = (long)get_time(&r);
	problem = get_string(&r);
	if (problem != NULL) {
		snprintf(info->problem, sizeof(info->problem), "%s", problem);
		free(problem);
	}
	info->ari_id = get_string(&r);
	key_type = get_string(&r);
	if (key_type != NULL) {
		snprintf(info->key_type, sizeof(info->key_type), "%s", key_type);
		free(key_type);
	}
	info->issuer = get_string(&r);
	n_ids = get_uint(&r, 4);
	/* Each name takes three bytes at least. */
	if (!r.failed && n_ids > 0 && n_ids <= r.left / 3) {
		info->ids = calloc((size_t)n_ids, sizeof(*info->ids));
		r.failed = info->ids == NULL;
	} else if (n_ids > 0) {
		r.failed = true;
	}
	for (size_t i = 0; !r.failed && i < n_ids; i++) {
		uint64_t type = get_uint(&r, 1);

		info->ids[i].value = get_string(&r);
		info->ids[i].type = type < IDENT__MAX ? (enum ident_type)type : IDENT_UNKNOWN;
		info->n_ids = i + 1;
		r.failed = r.failed || info->ids[i].value == NULL;
	}
	if (r.failed || r.left != 0) {
		store_cert_info_finish(info);
		return -1;
	}
	return 0;
}

static int
decode_state(const unsigned char *p, size_t len, struct state *st)
{
	struct reader r = {p, len, false};

	state_init(st);
	st->not_after = (time_t)get_time(&r);
	st->last_attempt = (time_t)get_time(&r);
	st->last_success = (time_t)get_time(&r);
	st->attempts = (long)get_time(&r);
	st->next_try = (time_t)get_time(&r);
	st->last_error = get_string(&r);
	st->order_url = get_string(&r);
	st->ca = get_string(&r);
	st->deploy_pending = get_uint(&r, 1) != 0;
	st->deploy_attempts = (long)get_time(&r);
	st->deploy_next_try = (time_t)get_time(&r);
	st->deploy_error = get_string(&r);
	st->version = (long)get_time(&r);
	st->ari_id = get_string(&r);
	st->ari_when = (time_t)get_time(&r);
	st->ari_next = (time_t)get_time(&r);
	st->fleet_version = (long)get_time(&r);
	st->fleet_owed = get_uint(&r, 1) != 0;
	st->ca_fallback = get_string(&r);
	st->persist_until = (time_t)get_time(&r);
	if (r.failed || r.left != 0) {
		state_finish(st);
		return -1;
	}
	return 0;
}

/* ---- records ---- */

/* A new record for name (set and state copied); NULL when out of memory. */
static struct record *
record_new(const char *name, uint64_t set_id, const void *set, size_t set_len, uint64_t state_id,
           const void *state, size_t state_len)
{
	size_t n = strlen(name) + 1;
	struct record *rec;

	if (set_len > UINT32_MAX || state_len > UINT32_MAX) {
		return NULL;
	}
	rec = malloc(sizeof(*rec) + n + set_len + state_len);
	if (rec == NULL) {
		return NULL;
	}
	rec->set_id = set_id;
	rec->state_id = state_id;
	rec->set_len = (uint32_t)set_len;
	rec->state_len = (uint32_t)state_len;
	rec->marked = false;
	rec->preloaded = false;
	rec->folder_id = 0;
	memcpy(rec->name, name, n);
	rec->data = (unsigned char *)rec->name + n;
	memcpy(rec->data, set, set_len);
	memcpy(rec->data + set_len, state, state_len);
	return rec;
}

/* Puts rec in the index, replacing name's old one. -1 when out of memory
 * (rec freed). */
static int
record_put(struct store_index *ix, struct record *rec)
{
	struct record *old = strmap_remove(&ix->records, rec->name);

	free(old);
	if (strmap_put(&ix->records, rec->name, rec) < 0) {
		free(rec);
		return -1;
	}
	return 0;
}

/* The records of the file's text (after the magic line). Stops at the
 * first that does not read: what came before is kept. */
static void
parse_records(struct store_index *ix, const unsigned char *p, size_t len)
{
	struct reader r = {p, len, false};

	while (r.left > 0) {
		uint64_t n = get_uint(&r, 4);
		struct reader rec = {r.p, n, false};
		uint64_t set_id, state_id, set_len, name_len;
		char name[256];
		struct record *made;

		if (r.failed || n > r.left) {
			break;
		}
		r.p += n;
		r.left -= n;
		set_id = get_uint(&rec, 8);
		state_id = get_uint(&rec, 8);
		set_len = get_uint(&rec, 4);
		name_len = get_uint(&rec, 1);
		if (rec.failed || name_len > rec.left) {
			break;
		}
		memcpy(name, rec.p, name_len);
		name[name_len] = '\0';
		rec.p += name_len;
		rec.left -= name_len;
		if (!store_cert_name_ok(name) || set_len > rec.left) {
			break;
		}
		made = record_new(name, set_id, rec.p, set_len, state_id, rec.p + set_len,
		                  rec.left - set_len);
		if (made == NULL || record_put(ix, made) < 0) {
			break;
		}
	}
}

struct store_index *
store_index_open(const char *state_dir)
{
	struct store_index *ix = calloc(1, sizeof(*ix));
	char *path = NULL;
	char *text = NULL;
	size_t len = 0;
	size_t magic = strlen(INDEX_MAGIC);

	if (ix == NULL) {
		log_error("out of memory");
		goto out;
	}
	ix->state_dir = state_dir;
	ix->certs = store_cert_open_certs(state_dir);
	pthread_mutex_init(&ix->lock, NULL);
	strmap_init(&ix->records);
	path = file_path(state_dir, INDEX_NAME, NULL);
	text = path != NULL ? file_read(path, INDEX_MAX, &len) : NULL;
	if (text == NULL || len < magic || memcmp(text, INDEX_MAGIC, magic) != 0) {
		/* None yet, or another version's: written anew at the save. */
		ix->dirty = text != NULL;
		goto out;
	}
	parse_records(ix, (const unsigned char *)text + magic, len - magic);
out:
	free(text);
	free(path);
	return ix;
}

/* The set's facts: the record's when its files are the same (*id, from
 * the stat before), else read (from dirfd, name's folder, unless it is
 * -1), *id then the identity of what was read when it could be taken
 * from the reads (0: not known, no record kept). */
static int
read_set(struct store_index *ix, const struct record *rec, const char *name, int dirfd,
         uint64_t *id, struct store_cert_info *info, uint64_t *folder, bool *fresh)
{
	*fresh = false;
	if (rec != NULL && *id != 0 && rec->set_id == *id &&
	    decode_set(rec->data, rec->set_len, info) == 0) {
		return 0;
	}
	*fresh = true;
	if (dirfd >= 0) {
		return store_cert_inspect_ident_at(dirfd, info, id, folder);
	}
	return store_cert_inspect(ix->state_dir, name, info);
}

/* The state: the record's when state.json is the same, else read (an
 * unreadable one is as good as none: the next attempt rewrites it), *id
 * then that of what was read. */
static void
read_state(const struct record *rec, const char *dir, int dirfd, uint64_t *id, struct state *st,
           bool *fresh)
{
	int rc;

	*fresh = false;
	if (rec != NULL && *id != 0 && rec->state_id == *id &&
	    decode_state(rec->data + rec->set_len, rec->state_len, st) == 0) {
		return;
	}
	*fresh = true;
	rc = dirfd >= 0 ? state_load_at_ident(dirfd, st, id) : state_load(dir, st);
	if (rc < 0) {
		state_init(st);
	}
}

/* name's record as store_index_preload left it, once. */
static bool
take_preloaded(struct store_index *ix, const char *name, struct store_cert_info *info,
               struct state *st, uint64_t *folder)
{
	struct record *rec;
	bool taken = false;

	pthread_mutex_lock(&ix->lock);
	rec = strmap_get(&ix->records, name);
	if (rec != NULL && rec->preloaded) {
		rec->preloaded = false;
		taken = decode_set(rec->data, rec->set_len, info) == 0 &&
		        decode_state(rec->data + rec->set_len, rec->state_len, st) == 0;
		if (taken) {
			rec->marked = true;
			if (folder != NULL) {
				*folder = rec->folder_id;
			}
		} else {
			store_cert_info_finish(info);
			state_finish(st);
			memset(info, 0, sizeof(*info));
			info->version = -1;
			state_init(st);
		}
	}
	pthread_mutex_unlock(&ix->lock);
	return taken;
}

int
store_index_read(struct store_index *ix, const char *name, struct store_cert_info *info,
                 struct state *st, uint64_t *folder)
{
	struct record *rec;
	char *dir = store_cert_dir(ix->state_dir, name);
	struct buf set;
	struct buf state;
	uint64_t set_id;
	uint64_t state_id;
	bool set_fresh = false;
	bool state_fresh = false;
	int dirfd = -1;
	int rc = -1;

	buf_init(&set, UINT32_MAX);
	buf_init(&state, UINT32_MAX);
	state_init(st);
	memset(info, 0, sizeof(*info));
	info->version = -1;
	if (folder != NULL) {
		*folder = 0;
	}
	if (dir == NULL) {
		goto out;
	}
	if (take_preloaded(ix, name, info, st, folder)) {
		rc = 0;
		goto out;
	}
	dirfd = ix->certs >= 0 ? openat(ix->certs, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	pthread_mutex_lock(&ix->lock);
	rec = strmap_get(&ix->records, name);
	pthread_mutex_unlock(&ix->lock);
	/* With a record, the identities are taken before the files are
	 * read: one that changes meanwhile makes the next look read it
	 * again. Without one (a first start reads 100,000), they come from
	 * the reads themselves: exactly what was read, with no stat of each
	 * file first. The folder is opened once for all (a missing one:
	 * through the paths, which say so). */
	set_id = 0;
	state_id = 0;
	if (rec != NULL || dirfd < 0) {
		set_id = dirfd >= 0 ? store_cert_identities_at(dirfd, folder, &state_id)
		                    : store_cert_identities(ix->state_dir, name, folder, &state_id);
	}
	if (read_set(ix, rec, name, dirfd, &set_id, info, folder, &set_fresh) < 0) {
		goto out;
	}
	read_state(rec, dir, dirfd, &state_id, st, &state_fresh);
	rc = 0;
	if (rec != NULL && !set_fresh && !state_fresh) {
		rec->marked = true;
		goto out;
	}
	encode_set(&set, info);
	encode_state(&state, st);
	rec = NULL;
	if (set_id != 0 && state_id != 0 && !set.failed && !state.failed) {
		rec = record_new(name, set_id, set.data, set.len, state_id, state.data, state.len);
	}
	pthread_mutex_lock(&ix->lock);
	ix->sets_read += set_fresh;
	ix->states_read += state_fresh;
	if (rec != NULL) {
		rec->marked = true;
		if (record_put(ix, rec) == 0) {
			ix->dirty = true;
		}
	}
	pthread_mutex_unlock(&ix->lock);
out:
	if (dirfd >= 0) {
		close(dirfd);
	}
	buf_finish(&set);
	buf_finish(&state);
	free(dir);
	return rc;
}

struct preload {
	struct store_index *ix;
	const char *const *names;
};

static void
preload_one(size_t i, void *arg)
{
	struct preload *p = arg;
	struct store_cert_info info;
	struct state st;
	uint64_t folder = 0;
	struct record *rec;

	if (store_index_read(p->ix, p->names[i], &info, &st, &folder) == 0) {
		pthread_mutex_lock(&p->ix->lock);
		rec = strmap_get(&p->ix->records, p->names[i]);
		if (rec != NULL) {
			rec->preloaded = true;
			rec->folder_id = folder;
		}
		pthread_mutex_unlock(&p->ix->lock);
	}
	store_cert_info_finish(&info);
	state_finish(&st);
}

void
store_index_preload(struct store_index *ix, const char *const *names, size_t n)
{
	struct preload p = {ix, names};

	parallel_for(n, 0, preload_one, &p);
}

void
store_index_keep(struct store_index *ix, const char *name)
{
	struct record *rec = strmap_get(&ix->records, name);

	if (rec != NULL) {
		rec->marked = true;
	}
}

void
store_index_forget(struct store_index *ix, const char *name)
{
	struct record *rec = strmap_remove(&ix->records, name);

	if (rec != NULL) {
		free(rec);
		ix->dirty = true;
	}
}

size_t
store_index_sweep(struct store_index *ix)
{
	struct record **drop = NULL;
	size_t n = 0;

	for (size_t i = 0; i < ix->records.cap; i++) {
		const struct record *rec = ix->records.slots[i].value;

		n += rec != NULL && !rec->marked;
	}
	/* Removing moves records about the table: the ones to drop are
	 * listed first. Out of memory, they stay (a cache that is too big). */
	drop = n > 0 ? calloc(n, sizeof(*drop)) : NULL;
	n = 0;
	for (size_t i = 0; i < ix->records.cap; i++) {
		struct record *rec = ix->records.slots[i].value;

		if (rec != NULL && !rec->marked && drop != NULL) {
			drop[n++] = rec;
		} else if (rec != NULL) {
			rec->marked = false;
		}
	}
	for (size_t i = 0; i < n; i++) {
		strmap_remove(&ix->records, drop[i]->name);
		free(drop[i]);
	}
	free(drop);
	if (n > 0) {
		ix->dirty = true;
	}
	return n;
}

int
store_index_save(struct store_index *ix)
{
	struct buf b;
	char *path = NULL;
	int rc = -1;

	if (!ix->dirty) {
		return 0;
	}
	/* A command run by another user than the daemon's reads the index
	 * and leaves it. */
	if (access(ix->state_dir, W_OK) < 0) {
		log_debug("%s: not writable: %s not updated", ix->state_dir, INDEX_NAME);
		return -1;
	}
	buf_init(&b, INDEX_MAX);
	path = file_path(ix->state_dir, INDEX_NAME, NULL);
	buf_add(&b, INDEX_MAGIC, strlen(INDEX_MAGIC));
	for (size_t i = 0; i < ix->records.cap; i++) {
		const struct record *rec = ix->records.slots[i].value;
		size_t n;

		if (rec == NULL) {
			continue;
		}
		n = strlen(rec->name);
		put_uint(&b, 8 + 8 + 4 + 1 + n + rec->set_len + rec->state_len, 4);
		put_uint(&b, rec->set_id, 8);
		put_uint(&b, rec->state_id, 8);
		put_uint(&b, rec->set_len, 4);
		put_uint(&b, n, 1);
		buf_add(&b, rec->name, n);
		buf_add(&b, rec->data, rec->set_len + rec->state_len);
	}
	if (path == NULL || b.failed) {
		log_error("%s: out of memory", INDEX_NAME);
		goto out;
	}
	if (file_write_atomic(path, b.data, b.len, 0644) < 0) {
		goto out;
	}
	ix->dirty = false;
	rc = 0;
out:
	buf_finish(&b);
	free(path);
	return rc;
}

size_t
store_index_count(const struct store_index *ix)
{
	return ix->records.n;
}

void
store_index_reads(const struct store_index *ix, size_t *sets, size_t *states)
{
	*sets = ix->sets_read;
	*states = ix->states_read;
}

void
store_index_close(struct store_index *ix)
{
	if (ix == NULL) {
		return;
	}
	for (size_t i = 0; i < ix->records.cap; i++) {
		free(ix->records.slots[i].value);
	}
	strmap_finish(&ix->records);
	pthread_mutex_destroy(&ix->lock);
	if (ix->certs >= 0) {
		close(ix->certs);
	}
	free(ix);
}
