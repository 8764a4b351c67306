#include "crypto/keygen.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

struct request {
	struct request *next;
	enum key_type type;
	EVP_PKEY *key;
	keygen_done_fn done;
	void *arg;
};

struct keygen {
	struct ev_loop *loop;
	ev_async async;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct request *todo; /* FIFO: head */
	struct request **todo_tail;
	struct request *done; /* finished, any order */
	struct request *ready; /* EC keys made at once, delivered from the loop */
};

static void *
worker(void *arg)
{
	struct keygen *kg = arg;

	pthread_mutex_lock(&kg->lock);
	for (;;) {
		struct request *req;

		while (kg->todo == NULL && !kg->stop) {
			pthread_cond_wait(&kg->cond, &kg->lock);
		}
		if (kg->stop) {
			break;
		}
		req = kg->todo;
		kg->todo = req->next;
		if (kg->todo == NULL) {
			kg->todo_tail = &kg->todo;
		}
		pthread_mutex_unlock(&kg->lock);
		req->key = key_generate(req->type);
		pthread_mutex_lock(&kg->lock);
		req->next = kg->done;
		kg->done = req;
		ev_async_send(kg->loop, &kg->async);
	}
	pthread_mutex_unlock(&kg->lock);
	return NULL;
}

static void
deliver(struct request *list)
{
	/* Oldest first, as submitted. */
	struct request *rev = NULL;

	while (list != NULL) {
		struct request *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev != NULL) {
		struct request *next = rev->next;

		rev->done(rev->key, rev->arg);
		free(rev);
		rev = next;
	}
}

static void
on_async(struct ev_loop *loop, ev_async *w, int revents)
{
	struct keygen *kg = w->data;
	struct request *list;
	struct request *ready;

	pthread_mutex_lock(&kg->lock);
	list = kg->done;
	kg->done = NULL;
	pthread_mutex_unlock(&kg->lock);
	ready = kg->ready;
	kg->ready = NULL;
	deliver(ready);
	deliver(list);
}

struct keygen *
keygen_create(struct ev_loop *loop)
{
	struct keygen *kg = calloc(1, sizeof(*kg));

	if (kg == NULL) {
		log_error("out of memory");
		return NULL;
	}
	kg->loop = loop;
	kg->todo_tail = &kg->todo;
	pthread_mutex_init(&kg->lock, NULL);
	pthread_cond_init(&kg->cond, NULL);
	ev_async_init(&kg->async, on_async);
	kg->async.data = kg;
	ev_async_start(loop, &kg->async);
	/* The loop may have nothing else to wait for while a key is made. */
	return kg;
}

static void
free_list(struct request *req)
{
	while (req != NULL) {
		struct request *next = req->next;

		EVP_PKEY_free(req->key);
		free(req);
		req = next;
	}
}

void
keygen_destroy(struct keygen *kg)
{
	if (kg == NULL) {
		return;
	}
	if (kg->thread_started) {
		pthread_mutex_lock(&kg->lock);
		kg->stop = true;
		pthread_cond_signal(&kg->cond);
		pthread_mutex_unlock(&kg->lock);
		pthread_join(kg->thread, NULL);
	}
	ev_async_stop(kg->loop, &kg->async);
	free_list(kg->todo);
	free_list(kg->done);
	free_list(kg->ready);
	pthread_mutex_destroy(&kg->lock);
	pthread_cond_destroy(&kg->cond);
	free(kg);
}

int
keygen_submit(struct keygen *kg, enum key_type type, keygen_done_fn done, void *arg)
{
	struct request *req = calloc(1, sizeof(*req));

	if (req == NULL) {
		log_error("out of memory");
		return -1;
	}
	req->type = type;
	req->done = done;
	req->arg = arg;
	if (type == KEY_TYPE_EC_P256 || type == KEY_TYPE_EC_P384) {
		req->key = key_generate(type);
		req->next = kg->ready;
		kg->ready = req;
		ev_async_send(kg->loop, &kg->async);
		return 0;
	}
	if (!kg->thread_started) {
		if (pthread_create(&kg->thread, NULL, worker, kg) != 0) {
			log_error("cannot start the key generation thread");
			free(req);
			return -1;
		}
		kg->thread_started = true;
	}
	pthread_mutex_lock(&kg->lock);
	*kg->todo_tail = req;
	kg->todo_tail = &req->next;
	pthread_cond_signal(&kg->cond);
	pthread_mutex_unlock(&kg->lock);
	return 0;
}
