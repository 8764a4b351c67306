#include "store/store_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"

struct store_sync_wait {
	struct store_sync_wait *next;
	store_sync_fn fn;
	void *arg;
	size_t n;
	char **paths; /* into the same allocation */
	int err;
	bool cancelled;
};

/* A list kept in the order the waits started. */
struct queue {
	struct store_sync_wait *head;
	struct store_sync_wait **tail;
};

struct store_sync {
	struct ev_loop *loop;
	ev_async async; /* a round is over: its callbacks are due */
	ev_prepare prepare; /* the loop is about to wait: hand the round over */
	pthread_t thread;
	bool threaded;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool quit;
	enum { WORKER_IDLE, WORKER_GATHERING, WORKER_SYNCING } worker; /* what it does */
	struct queue queued; /* started, for the next round */
	size_t n_queued; /* waits in queued */
	size_t group_waits; /* store_sync_group */
	double group_delay;
	size_t expected; /* store_sync_expect */
	struct queue done; /* synced, callbacks due */
	struct store_sync_stats stats;
	/* On the loop's thread only: */
	struct queue started; /* in this turn of the loop */
	size_t outstanding; /* started, callback not yet due: hold the loop */
	bool delivering; /* in on_async */
	bool doomed; /* store_sync_free was called from a callback */
};

static void
queue_init(struct queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
}

static void
queue_append(struct queue *q, struct store_sync_wait *w)
{
	w->next = NULL;
	*q->tail = w;
	q->tail = &w->next;
}

/* Moves all of from to the end of to. */
static void
queue_move(struct queue *to, struct queue *from)
{
	if (from->head == NULL) {
		return;
	}
	*to->tail = from->head;
	to->tail = from->tail;
	queue_init(from);
}

struct fs {
	dev_t dev;
	const char *path; /* one of its paths, to open for syncfs */
	int err;
};

/* One syncfs per file system of the round's paths. */
static void
sync_filesystems(struct store_sync_wait *round, struct store_sync_stats *stats)
{
	struct fs *fss = NULL;
	size_t n_fss = 0;
	size_t cap = 0;

	for (struct store_sync_wait *w = round; w != NULL; w = w->next) {
		for (size_t i = 0; i < w->n && w->err == 0; i++) {
			struct stat st;
			size_t j = 0;

			if (lstat(w->paths[i], &st) < 0) {
				w->err = errno;
				break;
			}
			while (j < n_fss && fss[j].dev != st.st_dev) {
				j++;
			}
			if (j < n_fss) {
				continue;
			}
			if (n_fss == cap) {
				size_t more = cap != 0 ? 2 * cap : 4;
				struct fs *p = realloc(fss, more * sizeof(*p));

				if (p == NULL) {
					w->err = ENOMEM;
					break;
				}
				fss = p;
				cap = more;
			}
			fss[n_fss++] = (struct fs){.dev = st.st_dev, .path = w->paths[i]};
		}
	}
	for (size_t j = 0; j < n_fss; j++) {
		int fd = open(fss[j].path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0) {
			fss[j].err = errno;
			continue;
		}
		if (syncfs(fd) < 0) {
			fss[j].err = errno;
		}
		stats->syncfs++;
		close(fd);
	}
	/* A file system that failed fails every wait with a path on it. */
	for (struct store_sync_wait *w = round; w != NULL; w = w->next) {
		for (size_t i = 0; i < w->n && w->err == 0; i++) {
			struct stat st;

			if (lstat(w->paths[i], &st) < 0) {
				w->err = errno;
				break;
			}
			for (size_t j = 0; j < n_fss; j++) {
				if (fss[j].dev == st.st_dev && fss[j].err != 0) {
					w->err = fss[j].err;
				}
			}
		}
	}
	free(fss);
}

static void
sync_round(struct store_sync_wait *round, struct store_sync_stats *stats)
{
	size_t files = 0;

	for (struct store_sync_wait *w = round; w != NULL; w = w->next) {
		files += w->n;
		stats->waits++;
	}
	stats->rounds++;
	if (files > STORE_SYNC_EACH_MAX && round->next != NULL) {
		sync_filesystems(round, stats);
		return;
	}
	for (struct store_sync_wait *w = round; w != NULL; w = w->next) {
		for (size_t i = 0; i < w->n && w->err == 0; i++) {
			w->err = file_sync_path(w->paths[i]) < 0 ? errno : 0;
			stats->fsyncs++;
		}
	}
}

/* Whether the waits queued make a whole round: as many as may come
 * (store_sync_expect), at most group_waits. With s->mu held. */
static bool
round_full(const struct store_sync *s)
{
	size_t want = s->expected < s->group_waits ? s->expected : s->group_waits;

	return s->n_queued >= want;
}

/* Wakes the worker only when it has something to do: waits queued while
 * it is idle, or a round it gathers now full. Each needless wake is a
 * switch to the thread and back, a thousand certificates' worth of them
 * in a batch. With s->mu held. */
static void
wake_worker(struct store_sync *s)
{
	if (s->quit || (s->worker == WORKER_IDLE && s->queued.head != NULL) ||
	    (s->worker == WORKER_GATHERING && round_full(s))) {
		pthread_cond_signal(&s->cond);
	}
}

/* While more waits may come (store_sync_expect) the round waits for
 * them, up to group_waits of them or group_delay, whichever comes first:
 * what arrives one by one is synced together. A wait nobody else may
 * join goes at once. Called and returns with s->mu held. */
static void
gather(struct store_sync *s)
{
	long long ns = (long long)(s->group_delay * 1e9);
	struct timespec deadline;

	if (round_full(s)) {
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	ns += deadline.tv_nsec;
	deadline.tv_sec += (time_t)(ns / 1000000000LL);
	deadline.tv_nsec = (long)(ns % 1000000000LL);
	s->worker = WORKER_GATHERING;
	while (!s->quit && !round_full(s) &&
	       pthread_cond_timedwait(&s->cond, &s->mu, &deadline) != ETIMEDOUT) {
	}
}

static void *
worker(void *arg)
{
	struct store_sync *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct queue round;
		struct store_sync_stats stats;

		s->worker = WORKER_IDLE;
		while (!s->quit && s->queued.head == NULL) {
			pthread_cond_wait(&s->cond, &s->mu);
		}
		if (s->queued.head == NULL) {
			break;
		}
		gather(s);
		s->worker = WORKER_SYNCING;
		queue_init(&round);
		queue_move(&round, &s->queued);
		s->n_queued = 0;
		stats = s->stats;
		pthread_mutex_unlock(&s->mu);
		sync_round(round.head, &stats);
		pthread_mutex_lock(&s->mu);
		s->stats = stats;
		queue_move(&s->done, &round);
		ev_async_send(s->loop, &s->async);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void destroy(struct store_sync *s);

/* On the loop: the callbacks of the rounds that are over, in order. A
 * callback may start waits, cancel them or free the barrier. */
static void
on_async(struct ev_loop *loop, ev_async *a, int revents)
{
	struct store_sync *s = a->data;

	(void)loop;
	(void)revents;
	s->delivering = true;
	while (!s->doomed) {
		struct store_sync_wait *w;
		bool cancelled;

		pthread_mutex_lock(&s->mu);
		w = s->done.head;
		if (w != NULL) {
			s->done.head = w->next;
			if (s->done.head == NULL) {
				s->done.tail = &s->done.head;
			}
		}
		cancelled = w != NULL && w->cancelled;
		pthread_mutex_unlock(&s->mu);
		if (w == NULL) {
			break;
		}
		if (--s->outstanding == 0) {
			ev_unref(s->loop);
		}
		if (!cancelled) {
			w->fn(w->err, w->arg);
		}
		free(w);
	}
	s->delivering = false;
	if (s->doomed) {
		destroy(s);
	}
}

/* The waits started in this turn of the loop make one round (with any
 * started while the thread finishes the one before). */
static void
on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct store_sync *s = p->data;

	(void)loop;
	(void)revents;
	if (s->started.head == NULL) {
		return;
	}
	if (!s->threaded) {
		sync_round(s->started.head, &s->stats);
		pthread_mutex_lock(&s->mu);
		queue_move(&s->done, &s->started);
		pthread_mutex_unlock(&s->mu);
		ev_async_send(s->loop, &s->async);
		return;
	}
	pthread_mutex_lock(&s->mu);
	for (struct store_sync_wait *w = s->started.head; w != NULL; w = w->next) {
		s->n_queued++;
	}
	queue_move(&s->queued, &s->started);
	wake_worker(s);
	pthread_mutex_unlock(&s->mu);
}

struct store_sync *
store_sync_new(struct ev_loop *loop)
{
	struct store_sync *s = calloc(1, sizeof(*s));
	pthread_condattr_t attr;
	sigset_t all;
	sigset_t old;
	int err;

	if (s == NULL) {
		return NULL;
	}
	s->loop = loop;
	queue_init(&s->started);
	queue_init(&s->queued);
	queue_init(&s->done);
	s->group_waits = STORE_SYNC_GROUP_WAITS;
	s->group_delay = STORE_SYNC_GROUP_DELAY;
	s->expected = 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &attr);
	pthread_condattr_destroy(&attr);
	ev_async_init(&s->async, on_async);
	s->async.data = s;
	ev_async_start(loop, &s->async);
	ev_prepare_init(&s->prepare, on_prepare);
	s->prepare.data = s;
	ev_prepare_start(loop, &s->prepare);
	/* Only the waits keep the loop running, not the watchers. */
	ev_unref(loop);
	ev_unref(loop);
	/* The thread takes no signal: the loop's handlers stay the loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->thread, NULL, worker, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->threaded = err == 0;
	if (!s->threaded) {
		log_warn("cannot start the thread that syncs the state folder: %s; "
		         "syncing on the loop",
		         strerror(err));
	}
	return s;
}

static void
free_queue(struct queue *q)
{
	while (q->head != NULL) {
		struct store_sync_wait *w = q->head;

		q->head = w->next;
		free(w);
	}
	queue_init(q);
}

static void
destroy(struct store_sync *s)
{
	if (s->threaded) {
		pthread_mutex_lock(&s->mu);
		s->quit = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	free_queue(&s->started);
	free_queue(&s->queued);
	free_queue(&s->done);
	if (s->outstanding == 0) {
		/* As started, before ev_unref. */
		ev_ref(s->loop);
	}
	ev_ref(s->loop);
	ev_async_stop(s->loop, &s->async);
	ev_prepare_stop(s->loop, &s->prepare);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void
store_sync_free(struct store_sync *s)
{
	if (s == NULL) {
		return;
	}
	if (s->delivering) {
		s->doomed = true;
		return;
	}
	destroy(s);
}

struct store_sync_wait *
store_sync_start(struct store_sync *s, const char *const *paths, size_t n, store_sync_fn fn,
                 void *arg)
{
	size_t bytes = sizeof(struct store_sync_wait) + n * sizeof(char *);
	struct store_sync_wait *w;
	char *p;

	for (size_t i = 0; i < n; i++) {
		bytes += strlen(paths[i]) + 1;
	}
	w = calloc(1, bytes);
	if (w == NULL) {
		return NULL;
	}
	w->fn = fn;
	w->arg = arg;
	w->n = n;
	w->paths = (char **)(w + 1);
	p = (char *)(w->paths + n);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(paths[i]) + 1;

		memcpy(p, paths[i], len);
		w->paths[i] = p;
		p += len;
	}
	if (s->outstanding++ == 0) {
		ev_ref(s->loop);
	}
	queue_append(&s->started, w);
	return w;
}

void
store_sync_cancel(struct store_sync *s, struct store_sync_wait *w)
{
	if (w == NULL) {
		return;
	}
	pthread_mutex_lock(&s->mu);
	w->cancelled = true;
	pthread_mutex_unlock(&s->mu);
}

void
store_sync_group(struct store_sync *s, size_t waits, double delay_s)
{
	pthread_mutex_lock(&s->mu);
	s->group_waits = waits;
	s->group_delay = delay_s;
	pthread_mutex_unlock(&s->mu);
}

void
store_sync_expect(struct store_sync *s, size_t n)
{
	pthread_mutex_lock(&s->mu);
	s->expected = n;
	/* Fewer to wait for: a round gathering may be complete. */
	wake_worker(s);
	pthread_mutex_unlock(&s->mu);
}

void
store_sync_stats(struct store_sync *s, struct store_sync_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->stats;
	pthread_mutex_unlock(&s->mu);
}
