#include "io/hook.h"

#include "base/file.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOOK_KILL_GRACE_S 5.0 /* between SIGTERM and SIGKILL */
#define HOOK_DRAIN_S 2.0 /* output still open after the program exited */
#define HOOK_READS_PER_EVENT 16
#define HOOK_MAX_WORDS 4096
#define HOOK_DEFAULT_PATH "/bin:/usr/bin" /* glibc execvpe's without $PATH */

/* What the timer is waiting for. */
enum hook_stage {
	HOOK_STAGE_RUNNING, /* the timeout */
	HOOK_STAGE_TERM, /* SIGTERM sent: the grace before SIGKILL */
	HOOK_STAGE_DRAIN, /* exited, output still open (a child it left behind) */
};

struct hook {
	struct ev_loop *loop;
	struct ev_child child;
	struct ev_io io;
	struct ev_timer timer;
	pid_t pid;
	int out_fd; /* read end of stdout + stderr; -1 at EOF */
	int status_fd; /* read end of the CLOEXEC pipe carrying exec's errno */
	double timeout_s;
	enum hook_stage stage;
	bool exited;
	bool timed_out;
	bool killed; /* SIGKILL sent: stop waiting for the output */
	bool stopped; /* hook_stop: its owner stops, the timeout's way out */
	int wstatus;
	hook_done_fn done;
	void *arg;
	size_t out_len;
	char out[HOOK_MAX_OUTPUT + 1];
};

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void
stop_watchers(struct hook *h)
{
	if (h->loop == NULL) {
		return; /* never started */
	}
	ev_child_stop(h->loop, &h->child);
	ev_io_stop(h->loop, &h->io);
	ev_timer_stop(h->loop, &h->timer);
}

static void
free_hook(struct hook *h)
{
	stop_watchers(h);
	close_fd(&h->out_fd);
	close_fd(&h->status_fd);
	free(h);
}

/* The errno the child sent before exec failed, or 0 when exec succeeded. The
 * child has exited, so the pipe holds the whole message or is at EOF. */
static int
exec_errno(struct hook *h)
{
	int err = 0;
	ssize_t n;

	if (h->status_fd < 0) {
		goto out;
	}
	do {
		n = read(h->status_fd, &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(err)) {
		err = 0;
	}
out:
	return err;
}

static void
finish(struct hook *h)
{
	hook_done_fn done = h->done;
	void *arg = h->arg;
	char why[128];
	const char *reason = why;
	int status = -1;
	int err;

	stop_watchers(h);
	err = exec_errno(h);
	h->out[h->out_len] = '\0';
	if (err != 0) {
		snprintf(why, sizeof(why), "cannot run: %s", strerror(err));
	} else if (h->stopped) {
		snprintf(why, sizeof(why), "stopped");
	} else if (h->timed_out) {
		snprintf(why, sizeof(why), "killed after %g s timeout", h->timeout_s);
	} else if (WIFEXITED(h->wstatus)) {
		status = WEXITSTATUS(h->wstatus);
		snprintf(why, sizeof(why), "exit %d", status);
		if (status == 0) {
			reason = NULL;
		}
	} else if (WIFSIGNALED(h->wstatus)) {
		snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(h->wstatus));
	} else {
		snprintf(why, sizeof(why), "stopped");
	}
	done(status, reason, h->out, arg);
	free_hook(h);
}

static void
maybe_finish(struct hook *h)
{
	if (h->exited && (h->out_fd < 0 || h->killed)) {
		finish(h);
	}
}

static void
on_output(struct ev_loop *loop, struct ev_io *w, int revents)
{
	struct hook *h = w->data;
	char drop[4096];
	ssize_t n = 0;
	int i;

	for (i = 0; i < HOOK_READS_PER_EVENT; i++) {
		if (h->out_len < HOOK_MAX_OUTPUT) {
			n = read(h->out_fd, h->out + h->out_len, HOOK_MAX_OUTPUT - h->out_len);
		} else {
			n = read(h->out_fd, drop, sizeof(drop));
		}
		if (n > 0) {
			if (h->out_len < HOOK_MAX_OUTPUT) {
				h->out_len += (size_t)n;
			}
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		break;
	}
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
		return;
	}
	/* EOF, or an error that reading again would not fix. */
	ev_io_stop(loop, &h->io);
	close_fd(&h->out_fd);
	maybe_finish(h);
}

static void
on_child_exit(struct ev_loop *loop, struct ev_child *w, int revents)
{
	struct hook *h = w->data;

	ev_child_stop(loop, &h->child);
	h->exited = true;
	h->wstatus = w->rstatus;
	if (h->out_fd >= 0 && !h->killed && h->stage == HOOK_STAGE_RUNNING) {
		/* Something it started still holds the output open (a daemon
		 * it launched, say): wait a little for the rest, then go on
		 * without killing it. */
		ev_timer_stop(loop, &h->timer);
		h->stage = HOOK_STAGE_DRAIN;
		ev_timer_set(&h->timer, HOOK_DRAIN_S, 0.);
		ev_timer_start(loop, &h->timer);
		return;
	}
	maybe_finish(h);
}

static void
on_timer(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct hook *h = w->data;

	switch (h->stage) {
	case HOOK_STAGE_RUNNING:
		h->timed_out = true;
		h->stage = HOOK_STAGE_TERM;
		kill(-h->pid, SIGTERM);
		ev_timer_set(&h->timer, HOOK_KILL_GRACE_S, 0.);
		ev_timer_start(loop, &h->timer);
		break;
	case HOOK_STAGE_TERM:
		h->killed = true;
		kill(-h->pid, SIGKILL);
		maybe_finish(h);
		break;
	case HOOK_STAGE_DRAIN:
		ev_io_stop(loop, &h->io);
		close_fd(&h->out_fd);
		maybe_finish(h);
		break;
	}
}

/* The environment: acmed's, without the names env sets, then env. A new
 * array of borrowed strings. */
static char **
make_env(char *const env[])
{
	char **out = NULL;
	size_t n_env = 0;
	size_t n_parent = 0;
	size_t i, j, k = 0;

	while (env != NULL && env[n_env] != NULL) {
		n_env++;
	}
	while (environ != NULL && environ[n_parent] != NULL) {
		n_parent++;
	}
	out = calloc(n_parent + n_env + 1, sizeof(*out));
	if (out == NULL) {
		goto out;
	}
	for (i = 0; i < n_parent; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t len = eq != NULL ? (size_t)(eq - environ[i]) + 1 : 0;
		bool replaced = eq == NULL; /* not NAME=value: dropped */

		for (j = 0; j < n_env && !replaced; j++) {
			replaced = strncmp(env[j], environ[i], len) == 0;
		}
		if (!replaced) {
			out[k++] = environ[i];
		}
	}
	for (j = 0; j < n_env; j++) {
		out[k++] = env[j];
	}
	out[k] = NULL;
out:
	return out;
}

/* Runs in the child between fork and exec: async-signal-safe calls only
 * (acmed may have other threads: curl's resolver). Never returns. */
static void
child_exec(char *const argv[], char *const envp[], int devnull, int out_w, int status_w)
{
	struct sigaction sa;
	sigset_t none;
	int in, out, st;
	int sig;
	int err;

	setpgid(0, 0);
	/* Handlers are reset by exec but ignored signals are not: give the
	 * program the defaults it expects (SIGPIPE above all). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Every descriptor acmed holds stays behind; the three we need are
	 * moved above 2 first so that no dup2 overwrites another. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	st = fcntl(status_w, F_DUPFD_CLOEXEC, 3);
	in = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
	out = fcntl(out_w, F_DUPFD_CLOEXEC, 3);
	if (st < 0 || in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0) {
		err = errno;
		goto fail;
	}
	execvpe(argv[0], argv, envp);
	err = errno;
fail:
	if (st < 0) {
		st = status_w;
	}
	if (write(st, &err, sizeof(err)) < 0) {
		_exit(127);
	}
	_exit(127);
}

/* What a child gets besides its arguments: the pipe for its stdout and
 * stderr, the close-on-exec pipe for exec's errno, and its stdin: /dev/null,
 * or the read end of a pipe whose write end (input) acmed fills. */
struct child_fds {
	int out[2];
	int status[2];
	int devnull;
	int input;
};

static void
child_fds_close(struct child_fds *f)
{
	close_fd(&f->out[0]);
	close_fd(&f->out[1]);
	close_fd(&f->status[0]);
	close_fd(&f->status[1]);
	close_fd(&f->devnull);
	close_fd(&f->input);
}

/* Opens f (set to -1 first); our ends do not block. with_input: stdin a
 * pipe. 0, or -1 logged. */
static int
child_fds_open(struct child_fds *f, const char *name, bool with_input)
{
	int in[2];

	*f = (struct child_fds){{-1, -1}, {-1, -1}, -1, -1};
	if (pipe2(f->out, O_CLOEXEC) < 0 || pipe2(f->status, O_CLOEXEC) < 0 ||
	    (with_input && pipe2(in, O_CLOEXEC) < 0)) {
		log_error("hook %s: pipe: %s", name, strerror(errno));
		return -1;
	}
	if (with_input) {
		f->devnull = in[0];
		f->input = in[1];
	} else {
		f->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (f->devnull < 0) {
		log_error("hook %s: /dev/null: %s", name, strerror(errno));
		return -1;
	}
	if (fcntl(f->out[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(f->status[0], F_SETFL, O_NONBLOCK) < 0) {
		log_error("hook %s: fcntl: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

/* Forks the child that runs argv: its pid, or -1 logged. */
static pid_t
spawn(char *const argv[], char *const envp[], const struct child_fds *f)
{
	sigset_t all;
	sigset_t old;
	pid_t pid;
	int err;

	/* No handler of acmed's may run in the child before it has reset
	 * them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		child_exec(argv, envp, f->devnull, f->out[1], f->status[1]);
	}
	err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_error("hook %s: fork: %s", argv[0], strerror(err));
		return -1;
	}
	/* Both sides set the group, so that a kill right away reaches it
	 * whichever runs first (EACCES once the child has exec'd is fine). */
	setpgid(pid, pid);
	return pid;
}

/* h watches the child pid: its exit, its output (the read ends of f, which
 * h takes) and its timeout. */
static void
watch(struct hook *h, struct ev_loop *loop, pid_t pid, struct child_fds *f, double timeout_s)
{
	h->loop = loop;
	h->pid = pid;
	h->timeout_s = timeout_s;
	h->stage = HOOK_STAGE_RUNNING;
	h->out_fd = f->out[0];
	f->out[0] = -1;
	h->status_fd = f->status[0];
	f->status[0] = -1;
	ev_child_init(&h->child, on_child_exit, pid, 0);
	h->child.data = h;
	ev_child_start(loop, &h->child);
	ev_io_init(&h->io, on_output, h->out_fd, EV_READ);
	h->io.data = h;
	ev_io_start(loop, &h->io);
	ev_timer_init(&h->timer, on_timer, timeout_s > 0 ? timeout_s : 0., 0.);
	h->timer.data = h;
	if (timeout_s > 0) {
		/* The loop's clock stops while callbacks run: the timeout
		 * counts from now, not from when the loop last woke. */
		ev_now_update(loop);
		ev_timer_start(loop, &h->timer);
	}
}

struct hook *
hook_run(struct ev_loop *loop, char *const argv[], char *const env[], double timeout_s,
         hook_done_fn done, void *arg)
{
	return hook_run_input(loop, argv, env, NULL, 0, timeout_s, done, arg);
}

struct hook *
hook_run_input(struct ev_loop *loop, char *const argv[], char *const env[], const char *input,
               size_t input_len, double timeout_s, hook_done_fn done, void *arg)
{
	struct child_fds fds = {{-1, -1}, {-1, -1}, -1, -1};
	struct hook *h = NULL;
	char **envp = NULL;
	pid_t pid;
	bool ok = false;

	if (argv == NULL || argv[0] == NULL || done == NULL) {
		log_error("hook: nothing to run");
		goto out;
	}
	if (!ev_is_default_loop(loop)) {
		log_error("hook %s: needs the default event loop", argv[0]);
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		log_error("hook %s: out of memory", argv[0]);
		goto out;
	}
	h->out_fd = -1;
	h->status_fd = -1;
	h->done = done;
	h->arg = arg;
	envp = make_env(env);
	if (envp == NULL) {
		log_error("hook %s: out of memory", argv[0]);
		goto out;
	}
	if (input != NULL && input_len > HOOK_MAX_INPUT) {
		log_error("hook %s: input of %zu bytes, more than %d", argv[0], input_len,
		          HOOK_MAX_INPUT);
		goto out;
	}
	if (child_fds_open(&fds, argv[0], input != NULL) < 0) {
		goto out;
	}
	pid = spawn(argv, envp, &fds);
	if (pid < 0) {
		goto out;
	}
	if (input != NULL) {
		/* It fits in the pipe (HOOK_MAX_INPUT): written at once, then
		 * closed so that the program reads its end. A program that
		 * exits without reading leaves EPIPE, not a signal (acmed
		 * ignores SIGPIPE), and its exit status says the rest. */
		close_fd(&fds.devnull);
		if (file_write_all(fds.input, input, input_len) < 0 && errno != EPIPE) {
			log_warn("hook %s: writing its input: %s", argv[0], strerror(errno));
		}
		close_fd(&fds.input);
	}
	watch(h, loop, pid, &fds, timeout_s);
	log_debug("hook %s: started, pid %d", argv[0], (int)pid);
	ok = true;
out:
	child_fds_close(&fds);
	free(envp);
	if (!ok && h != NULL) {
		free_hook(h);
		h = NULL;
	}
	return h;
}

void
hook_stop(struct hook *hook)
{
	if (hook == NULL || hook->exited || hook->stage != HOOK_STAGE_RUNNING) {
		return;
	}
	hook->stopped = true;
	/* The timeout's way out, started now: SIGTERM, then SIGKILL after
	 * the grace. */
	ev_timer_stop(hook->loop, &hook->timer);
	on_timer(hook->loop, &hook->timer, EV_TIMER);
}

void
hook_cancel(struct hook *hook)
{
	if (hook == NULL) {
		return;
	}
	/* The default loop reaps every child, watched or not: no zombie. */
	if (!hook->exited) {
		kill(-hook->pid, SIGKILL);
	}
	free_hook(hook);
}

static int
push_word(char ***words, size_t *n, const char *word, size_t len)
{
	char **grown;
	char *copy = NULL;
	int ret = -1;

	if (*n + 2 > HOOK_MAX_WORDS) {
		goto out;
	}
	copy = strndup(word, len);
	grown = realloc(*words, (*n + 2) * sizeof(**words));
	if (copy == NULL || grown == NULL) {
		if (grown != NULL) {
			*words = grown;
		}
		goto out;
	}
	*words = grown;
	grown[(*n)++] = copy;
	grown[*n] = NULL;
	copy = NULL;
	ret = 0;
out:
	free(copy);
	return ret;
}

char **
hook_split(const char *command)
{
	char **words = NULL;
	char *word = NULL;
	size_t n = 0;
	size_t len = 0;
	const char *p;
	char quote = '\0';
	bool in_word = false;
	bool ok = false;

	if (command == NULL) {
		goto out;
	}
	word = malloc(strlen(command) + 1);
	if (word == NULL) {
		goto out;
	}
	for (p = command;; p++) {
		if (quote != '\0') {
			if (*p == '\0') {
				goto out; /* unbalanced */
			}
			if (*p == quote) {
				quote = '\0';
			} else {
				word[len++] = *p;
			}
			continue;
		}
		if (*p == '\0' || *p == ' ' || *p == '\t') {
			if (in_word && push_word(&words, &n, word, len) < 0) {
				goto out;
			}
			in_word = false;
			len = 0;
			if (*p == '\0') {
				break;
			}
			continue;
		}
		in_word = true;
		if (*p == '\'' || *p == '"') {
			quote = *p;
		} else {
			word[len++] = *p;
		}
	}
	ok = n > 0;
out:
	free(word);
	if (!ok) {
		hook_argv_free(words);
		words = NULL;
	}
	return words;
}

/* Whether path is a file exec would run: 0, or -1 with errno set (EACCES
 * for a folder or a file without an execute bit for us). */
static int
executable(const char *path)
{
	struct stat st;
	int ret = -1;

	if (stat(path, &st) < 0) {
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
		goto out;
	}
	/* The effective ids, as execve checks them. */
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0) {
		goto out;
	}
	ret = 0;
out:
	return ret;
}

static void
explain(const char *prog, const char *path, int err, char *why, size_t whylen)
{
	if (err == EISDIR) {
		snprintf(why, whylen, "%s: a folder, not a program", path);
	} else if (err == EACCES) {
		snprintf(why, whylen, "%s: not executable (no x permission for acmed's user)",
		         path);
	} else if (strcmp(prog, path) == 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(err));
	} else {
		snprintf(why, whylen, "%s: %s: %s", prog, path, strerror(err));
	}
}

int
hook_check(const char *command, char *why, size_t whylen)
{
	char **argv = hook_split(command);
	const char *path;
	const char *p;
	const char *end;
	char cand[PATH_MAX];
	char found[PATH_MAX] = "";
	int err = 0;
	int ret = -1;

	if (argv == NULL) {
		snprintf(why, whylen, "no program, or unbalanced quotes");
		goto out;
	}
	if (strchr(argv[0], '/') != NULL) {
		if (executable(argv[0]) < 0) {
			explain(argv[0], argv[0], errno, why, whylen);
			goto out;
		}
		ret = 0;
		goto out;
	}
	/* execvpe's search: each element in turn, an empty one meaning the
	 * current folder; a file it may not run is skipped but remembered. */
	path = getenv("PATH");
	if (path == NULL) {
		path = HOOK_DEFAULT_PATH;
	}
	for (p = path;; p = end + 1) {
		int n;

		end = strchrnul(p, ':');
		n = snprintf(cand, sizeof(cand), "%.*s%s%s", (int)(end - p), p, end == p ? "" : "/",
		             argv[0]);
		if (n > 0 && (size_t)n < sizeof(cand)) {
			if (executable(cand) == 0) {
				ret = 0;
				goto out;
			}
			if (errno == EACCES || errno == EISDIR) {
				if (found[0] == '\0') {
					snprintf(found, sizeof(found), "%s", cand);
					err = errno;
				}
			}
		}
		if (*end == '\0') {
			break;
		}
	}
	if (found[0] != '\0') {
		explain(argv[0], found, err, why, whylen);
	} else {
		snprintf(why, whylen, "%s: not found on PATH %s", argv[0], path);
	}
out:
	hook_argv_free(argv);
	return ret;
}

char **
hook_argv_append(char **argv, char *const extra[])
{
	char **grown = NULL;
	size_t n = 0;
	size_t m = 0;
	size_t i;

	while (argv != NULL && argv[n] != NULL) {
		n++;
	}
	while (extra != NULL && extra[m] != NULL) {
		m++;
	}
	if (n + m + 1 > HOOK_MAX_WORDS) {
		goto fail;
	}
	grown = realloc(argv, (n + m + 1) * sizeof(*grown));
	if (grown == NULL) {
		goto fail;
	}
	argv = grown;
	argv[n] = NULL;
	for (i = 0; i < m; i++) {
		argv[n + i] = strdup(extra[i]);
		if (argv[n + i] == NULL) {
			goto fail;
		}
		argv[n + i + 1] = NULL;
	}
	goto out;
fail:
	hook_argv_free(argv);
	argv = NULL;
out:
	return argv;
}

void
hook_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL) {
		return;
	}
	for (i = 0; argv[i] != NULL; i++) {
		free(argv[i]);
	}
	free(argv);
}
