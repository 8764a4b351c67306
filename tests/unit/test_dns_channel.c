#include "io/dns_channel.h"

#include "io/dns_msg.h"

#include <ev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns_server.h"

/* The longest wait for an answer (dns_server_wait_*): past it the test
 * fails rather than hangs. */
#define WAIT_S 30.

struct fixture {
	struct ev_loop *loop;
	struct dns_channels c;
	int answers;
	int status;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512] = "";

	assert_non_null(f);
	assert_int_equal(ares_library_init(ARES_LIB_INIT_ALL), ARES_SUCCESS);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	if (dns_channels_init(&f->c, f->loop, "127.0.0.1:53", 100, 1, err, sizeof(err)) < 0) {
		fail_msg("%s", err);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dns_channels_finish(&f->c);
	dns_channels_finish(&f->c);
	ev_loop_destroy(f->loop);
	ares_library_cleanup();
	free(f);
	return 0;
}

static void
test_init_lists(void **state)
{
	struct fixture *f = *state;
	struct dns_channels c;
	char err[512];

	memset(&c, 0, sizeof(c));
	dns_channels_finish(&c);
	assert_int_equal(
	        dns_channels_init(&c, f->loop, "192.0.2.1 nonsense", 100, 1, err, sizeof(err)), -1);
	assert_string_equal(err, "dns-resolver: \"nonsense\": not an IPv4 address (a list of "
	                         "IP[:PORT] or [IPv6]:PORT)");
	assert_null(c.resolvers);
	dns_channels_finish(&c);
	assert_int_equal(dns_channels_init(&c, f->loop, NULL, 100, 1, err, sizeof(err)), 0);
	assert_non_null(dns_channels_resolvers(&c));
	assert_string_equal(dns_channel_key(dns_channels_resolvers(&c)), "");
	dns_channels_finish(&c);
}

/* One channel per server, however it is written. */
static void
test_same_server(void **state)
{
	struct fixture *f = *state;
	struct dns_channel *a = dns_channels_get(&f->c, "127.0.0.1");
	struct dns_channel *b = dns_channels_get(&f->c, "2001:db8:0::1");

	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(dns_channel_key(a), "127.0.0.1:53");
	assert_string_equal(dns_channel_key(b), "[2001:db8::1]:53");
	assert_ptr_equal(dns_channels_get(&f->c, "127.0.0.1:53"), a);
	assert_ptr_equal(dns_channels_get(&f->c, "[2001:db8::1]:53"), b);
	assert_ptr_equal(dns_channels_get(&f->c, "[2001:DB8::0:1]"), b);
	assert_ptr_not_equal(dns_channels_get(&f->c, "127.0.0.1:5353"), a);
	/* The resolvers' server asked directly is a channel of its own. */
	assert_ptr_not_equal(a, dns_channels_resolvers(&f->c));
	assert_int_equal(f->c.n, 3);
	assert_null(dns_channels_get(&f->c, "127.0.0.1:99999"));
	assert_int_equal(f->c.n, 3);
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct fixture *f = arg;

	f->answers++;
	f->status = status;
}

/* At DNS_MAX_CHANNELS, the least recently used idle channel goes; one
 * holding a query stays. */
static void
test_cap(void **state)
{
	struct fixture *f = *state;
	static struct dns_channel *ch[DNS_MAX_CHANNELS + 1];
	struct dns_channel *busy;
	uint8_t q[DNS_QUERY_MAX];
	char server[32], err[128];
	int len;

	for (int i = 0; i < DNS_MAX_CHANNELS; i++) {
		snprintf(server, sizeof(server), "127.0.0.2:%d", i + 1);
		ch[i] = dns_channels_get(&f->c, server);
		assert_non_null(ch[i]);
	}
	assert_int_equal(f->c.n, DNS_MAX_CHANNELS);
	/* The first, a server that never answers, holds a query (and is now
	 * the most recently used). */
	snprintf(server, sizeof(server), "127.0.0.1:%d", dns_server_dead_port());
	busy = dns_channels_get(&f->c, server);
	assert_non_null(busy);
	assert_int_equal(f->c.n, DNS_MAX_CHANNELS); /* 127.0.0.2:1 made room */
	len = dns_msg_query_build("a.example", DNS_TYPE_A, true, 0, q, sizeof(q), err, sizeof(err));
	assert_true(len > 0);
	dns_channel_send(busy, q, (size_t)len, on_answer, f);
	/* Room for one more: 127.0.0.2:2 goes, the busy one stays. */
	ch[DNS_MAX_CHANNELS] = dns_channels_get(&f->c, "127.0.0.3");
	assert_non_null(ch[DNS_MAX_CHANNELS]);
	assert_int_equal(f->c.n, DNS_MAX_CHANNELS);
	assert_ptr_equal(dns_channels_get(&f->c, server), busy);
	for (int i = 2; i < DNS_MAX_CHANNELS; i++) {
		snprintf(server, sizeof(server), "127.0.0.2:%d", i + 1);
		assert_ptr_equal(dns_channels_get(&f->c, server), ch[i]);
	}
	/* c-ares ends the query (refused, then retried and refused). */
	dns_server_wait_int(f->loop, WAIT_S, &f->answers, 1);
	assert_int_equal(f->status, ARES_ECONNREFUSED);
	dns_channel_done(busy);
}

/* Every channel busy: no room, a new server is refused. */
static void
test_cap_full(void **state)
{
	struct fixture *f = *state;
	uint8_t q[DNS_QUERY_MAX];
	char server[32], err[128];
	int len = dns_msg_query_build("a.example", DNS_TYPE_A, true, 0, q, sizeof(q), err,
	                              sizeof(err));
	int dead = dns_server_dead_port();

	for (int i = 0; i < DNS_MAX_CHANNELS; i++) {
		struct dns_channel *ch;

		snprintf(server, sizeof(server), "127.0.%d.%d:%d", i / 200, i % 200 + 2, dead);
		ch = dns_channels_get(&f->c, server);
		assert_non_null(ch);
		dns_channel_send(ch, q, (size_t)len, on_answer, f);
	}
	assert_null(dns_channels_get(&f->c, "127.0.0.1:5353"));
	assert_int_equal(f->c.n, DNS_MAX_CHANNELS);
	/* Destroyed with every query in flight: each called back once
	 * (ARES_EDESTRUCTION) before the channels go. */
	dns_channels_finish(&f->c);
	assert_int_equal(f->answers, DNS_MAX_CHANNELS);
	assert_int_equal(f->status, ARES_EDESTRUCTION);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_init_lists, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_same_server, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cap_full, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
