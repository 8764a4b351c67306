/* acmed notify-test: a test event through every configured notification
 * channel, each one's result printed, so that an operator knows the
 * channels work before a certificate needs them. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "renew/notifier.h"

/* Long enough for every channel's one-shot retries. */
#define TEST_WAIT_S 90.

struct test {
	int pending;
	int failed;
	bool answered[NOTIFIER__MAX];
};

static void
on_result(enum notifier_channel channel, bool ok, const char *why, void *arg)
{
	struct test *t = arg;

	t->pending--;
	t->answered[channel] = true;
	if (ok) {
		printf("%s: ok\n", notifier_channel_name(channel));
	} else {
		t->failed++;
		printf("%s: failed: %s\n", notifier_channel_name(channel), why);
	}
	fflush(stdout);
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int
run(struct cli *cli)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct conf conf;
	struct conf_settings global;
	struct notifier *n = NULL;
	struct test t = {0, 0, {false}};
	char host[256] = "?";
	char *state_dir = NULL;
	ev_timer deadline;
	struct notice nt;
	int rc = CLI_EXIT_USAGE;

	memset(&global, 0, sizeof(global));
	if (cli_load_config(cli, &conf) < 0) {
		return CLI_EXIT_USAGE;
	}
	if (conf_resolve(&conf, NULL, &cli->settings, &global) < 0 ||
	    (state_dir = session_state_dir(&global)) == NULL) {
		goto out;
	}
	/* The name the daemon and renew give. */
	n = notifier_create(loop, &global, state_dir, cmd_host_label(&global, host, sizeof(host)),
	                    NOTIFIER_ONE_SHOT);
	if (n == NULL) {
		log_error("notify-test: no channel to test: set notify-hook, notify-webhook or "
		          "notify-email in %s",
		          conf.path != NULL ? conf.path : "the configuration");
		goto out;
	}
	memset(&nt, 0, sizeof(nt));
	nt.event = NOTICE_TEST;
	nt.cert = "notify-test";
	nt.message = "if this reached you, acmed's notifications do";
	t.pending = notifier_send(n, &nt, on_result, &t);
	ev_timer_init(&deadline, on_deadline, TEST_WAIT_S, 0.);
	ev_timer_start(loop, &deadline);
	while (t.pending > 0 && ev_is_active(&deadline)) {
		ev_run(loop, EVRUN_ONCE);
	}
	ev_timer_stop(loop, &deadline);
	if (t.pending > 0) {
		/* Each channel has its line, answered or not. */
		const bool set[NOTIFIER__MAX] = {
		        [NOTIFIER_HOOK] = global.notify_hook != NULL,
		        [NOTIFIER_WEBHOOK] = global.notify_webhook != NULL,
		        [NOTIFIER_EMAIL] = global.notify_email != NULL,
		};

		for (int c = 0; c < NOTIFIER__MAX; c++) {
			if (set[c] && !t.answered[c]) {
				printf("%s: failed: no answer within %.0f s\n",
				       notifier_channel_name((enum notifier_channel)c),
				       TEST_WAIT_S);
			}
		}
		fflush(stdout);
	}
	rc = t.failed == 0 && t.pending == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
out:
	notifier_destroy(n);
	free(state_dir);
	conf_settings_finish(&global);
	conf_finish(&conf);
	return rc;
}

static const enum cli_opt options[] = {
        CLI_OPT__MAX,
};

const struct cli_command cmd_notify_test = {
        .name = "notify-test",
        .args = "",
        .summary = "Send a test notification through every configured channel.",
        .options = options,
        .min_args = 0,
        .max_args = 0,
        .run = run,
};
