/* Loading the configuration file: lines, sections, duplicate keys and
 * sections, names shared by two sections, and its errors as
 * "file:line: message". Each value is checked by conf_set (conf.c), each
 * scope's keys against each other by conf_verify (conf_verify.c). */
#include "conf/conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/ca.h"
#include "conf/conf_internal.h"
#include "base/file.h"

/* A config file larger than this is a mistake, not tens of thousands of
 * certificates. */
#define CONF_FILE_MAX (16 * 1024 * 1024)
#define CONF_SECTION_NAME_MAX 64

struct load_error {
	int line;
	size_t seq;
	char *msg;
};

struct loader {
	struct conf *conf;
	struct conf_key_lines global_lines;
	struct conf_key_lines *cert_lines; /* parallel to conf->certs */
	struct conf_key_lines *ca_lines; /* parallel to conf->cas */
	/* Keys of a section that is not kept (bad or duplicate header) are
	 * still checked, into here. */
	struct conf_settings discard;
	struct conf_key_lines discard_lines;
	bool discard_ca; /* the discarded section is a [ca] one */
	enum {
		SCOPE_GLOBAL,
		SCOPE_CERT,
		SCOPE_CA,
		SCOPE_DISCARD,
	} scope;
	struct load_error *errors;
	size_t n_errors;
	size_t cap_errors;
	bool oom;
};

static void add_error(struct loader *ld, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
add_error(struct loader *ld, int line, const char *fmt, ...)
{
	char msg[1024];
	struct load_error *grown;
	size_t cap;
	char *text = NULL;
	int n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->n_errors == ld->cap_errors) {
		cap = ld->cap_errors == 0 ? 8 : ld->cap_errors * 2;
		grown = realloc(ld->errors, cap * sizeof(*grown));
		if (grown == NULL) {
			ld->oom = true;
			goto out;
		}
		ld->errors = grown;
		ld->cap_errors = cap;
	}
	if (line > 0) {
		n = snprintf(NULL, 0, "%s:%d: %s", ld->conf->path, line, msg);
	} else {
		n = snprintf(NULL, 0, "%s: %s", ld->conf->path, msg);
	}
	if (n < 0) {
		goto out;
	}
	text = malloc((size_t)n + 1);
	if (text == NULL) {
		ld->oom = true;
		goto out;
	}
	if (line > 0) {
		snprintf(text, (size_t)n + 1, "%s:%d: %s", ld->conf->path, line, msg);
	} else {
		snprintf(text, (size_t)n + 1, "%s: %s", ld->conf->path, msg);
	}
	ld->errors[ld->n_errors].line = line;
	ld->errors[ld->n_errors].seq = ld->n_errors;
	ld->errors[ld->n_errors].msg = text;
	ld->n_errors++;
out:
	return;
}

static struct conf_settings *
scope_settings(struct loader *ld)
{
	struct conf_settings *ret = &ld->discard;

	if (ld->scope == SCOPE_GLOBAL) {
		ret = &ld->conf->global;
	} else if (ld->scope == SCOPE_CERT) {
		ret = &ld->conf->certs[ld->conf->n_certs - 1].settings;
	} else if (ld->scope == SCOPE_CA) {
		ret = &ld->conf->cas[ld->conf->n_cas - 1].settings;
	}
	return ret;
}

static struct conf_key_lines *
scope_lines(struct loader *ld)
{
	struct conf_key_lines *ret = &ld->discard_lines;

	if (ld->scope == SCOPE_GLOBAL) {
		ret = &ld->global_lines;
	} else if (ld->scope == SCOPE_CERT) {
		ret = &ld->cert_lines[ld->conf->n_certs - 1];
	} else if (ld->scope == SCOPE_CA) {
		ret = &ld->ca_lines[ld->conf->n_cas - 1];
	}
	return ret;
}

static char *
trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
		end--;
	}
	*end = '\0';
	return s;
}

static bool
section_name_ok(const char *name)
{
	size_t len;
	bool ret = false;

	len = strlen(name);
	if (len == 0 || len > CONF_SECTION_NAME_MAX) {
		goto out;
	}
	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
	    len) {
		goto out;
	}
	ret = true;
out:
	return ret;
}

static void
start_discard(struct loader *ld)
{
	conf_settings_finish(&ld->discard);
	memset(&ld->discard_lines, 0, sizeof(ld->discard_lines));
	ld->discard_ca = false;
	ld->scope = SCOPE_DISCARD;
}

/* Appends the section [cert name] of line lineno to conf->certs, with its
 * row of ld->cert_lines. Returns 0, or -1 when out of memory (ld->oom). */
static int
add_cert(struct loader *ld, const char *name, int lineno)
{
	struct conf *conf = ld->conf;
	struct conf_cert *certs;
	struct conf_key_lines *lines;
	int ret = -1;

	/* Both grow before either is used: each keeps what it held when the
	 * other cannot. */
	certs = realloc(conf->certs, (conf->n_certs + 1) * sizeof(*certs));
	if (certs != NULL) {
		conf->certs = certs;
	}
	lines = realloc(ld->cert_lines, (conf->n_certs + 1) * sizeof(*lines));
	if (lines != NULL) {
		ld->cert_lines = lines;
	}
	if (certs == NULL || lines == NULL) {
		goto out;
	}
	memset(&certs[conf->n_certs], 0, sizeof(*certs));
	memset(&lines[conf->n_certs], 0, sizeof(*lines));
	certs[conf->n_certs].name = strdup(name);
	if (certs[conf->n_certs].name == NULL) {
		goto out;
	}
	certs[conf->n_certs].line = lineno;
	conf->n_certs++;
	ret = 0;
out:
	if (ret < 0) {
		ld->oom = true;
	}
	return ret;
}

/* Appends the section [ca name] of line lineno to conf->cas, refusing a
 * second one of that name. Returns 0, or -1 (an error added or ld->oom). */
static int
add_ca(struct loader *ld, const char *name, int lineno)
{
	struct conf *conf = ld->conf;
	const struct conf_ca *first = conf_find_ca(conf, name);
	struct conf_ca *cas;
	struct conf_key_lines *lines;
	int ret = -1;

	if (first != NULL) {
		add_error(ld, lineno, "duplicate section [ca %s] (first on line %d)", name,
		          first->line);
		goto out;
	}
	cas = realloc(conf->cas, (conf->n_cas + 1) * sizeof(*cas));
	if (cas != NULL) {
		conf->cas = cas;
	}
	lines = realloc(ld->ca_lines, (conf->n_cas + 1) * sizeof(*lines));
	if (lines != NULL) {
		ld->ca_lines = lines;
	}
	if (cas == NULL || lines == NULL) {
		ld->oom = true;
		goto out;
	}
	memset(&cas[conf->n_cas], 0, sizeof(*cas));
	memset(&lines[conf->n_cas], 0, sizeof(*lines));
	cas[conf->n_cas].name = strdup(name);
	if (cas[conf->n_cas].name == NULL) {
		ld->oom = true;
		goto out;
	}
	cas[conf->n_cas].line = lineno;
	conf->n_cas++;
	ret = 0;
out:
	return ret;
}

static void
parse_section(struct loader *ld, char *line, int lineno)
{
	size_t len;
	char *inner;
	char *name;
	bool is_ca;

	len = strlen(line);
	if (line[len - 1] != ']') {
		goto bad;
	}
	line[len - 1] = '\0';
	inner = trim(line + 1);
	if (strncmp(inner, "cert", 4) == 0 && (inner[4] == ' ' || inner[4] == '\t')) {
		is_ca = false;
		name = trim(inner + 4);
	} else if (strncmp(inner, "ca", 2) == 0 && (inner[2] == ' ' || inner[2] == '\t')) {
		is_ca = true;
		name = trim(inner + 2);
	} else {
		goto bad;
	}
	if (!section_name_ok(name)) {
		add_error(ld, lineno,
		          "bad section name '%s': expected 1 to 64 letters, digits, '.', '_' or "
		          "'-'",
		          name);
		start_discard(ld);
		ld->discard_ca = is_ca;
		goto out;
	}
	if (is_ca ? add_ca(ld, name, lineno) < 0 : add_cert(ld, name, lineno) < 0) {
		start_discard(ld);
		ld->discard_ca = is_ca;
		goto out;
	}
	ld->scope = is_ca ? SCOPE_CA : SCOPE_CERT;
	goto out;
bad:
	add_error(ld, lineno, "bad section header: expected [cert NAME] or [ca NAME]");
	start_discard(ld);
out:
	return;
}

static void
parse_assignment(struct loader *ld, char *line, int lineno)
{
	char msg[1024];
	struct conf_key_lines *lines;
	enum conf_where where;
	enum conf_key k;
	bool known;
	char *eq;
	char *key;
	char *value;

	eq = strchr(line, '=');
	if (eq == NULL) {
		add_error(ld, lineno, "missing '=': expected key = value");
		goto out;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (*key == '\0') {
		add_error(ld, lineno, "missing key before '='");
		goto out;
	}
	known = conf_key_find(key, &k) == 0;
	lines = scope_lines(ld);
	if (known && lines->line[k] != 0) {
		add_error(ld, lineno, "duplicate key '%s' (first set on line %d)", key,
		          lines->line[k]);
		goto out;
	}
	where = ld->scope == SCOPE_GLOBAL ? CONF_WHERE_GLOBAL
	        : ld->scope == SCOPE_CA || (ld->scope == SCOPE_DISCARD && ld->discard_ca)
	                ? CONF_WHERE_CA
	                : CONF_WHERE_CERT;
	if (conf_set(scope_settings(ld), where, key, value, msg, sizeof(msg)) < 0) {
		add_error(ld, lineno, "%s", msg);
	}
	/* A bad value still counts as set: a second line is a duplicate. A key
	 * conf_set refuses in this scope (or an unknown one) does not. */
	if (known && conf_key_allowed(k, where)) {
		lines->line[k] = lineno;
	}
out:
	return;
}

static void
parse_text_buffer(struct loader *ld, char *buf, size_t len)
{
	char *end = buf + len;
	char *line;
	char *next;
	char *nl;
	size_t n;
	size_t i;
	int lineno = 0;

	/* A UTF-8 byte order mark (some Windows editors write one) is no part
	 * of the first key. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
	}
	for (line = buf; line < end; line = next) {
		lineno++;
		nl = memchr(line, '\n', (size_t)(end - line));
		n = nl != NULL ? (size_t)(nl - line) : (size_t)(end - line);
		next = nl != NULL ? nl + 1 : end;
		if (memchr(line, '\0', n) != NULL) {
			add_error(ld, lineno, "contains a NUL byte");
			continue;
		}
		/* file_read leaves a NUL after the last line. */
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\r') {
			line[--n] = '\0';
		}
		/* A '#' at the start or after a blank starts a comment; elsewhere
		 * (a URL fragment) it is part of the value. */
		for (i = 0; i < n; i++) {
			if (line[i] == '#' &&
			    (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
				line[i] = '\0';
				break;
			}
		}
		line = trim(line);
		if (*line == '\0') {
			continue;
		}
		if (*line == '[') {
			parse_section(ld, line, lineno);
		} else {
			parse_assignment(ld, line, lineno);
		}
	}
}

struct domain_ref {
	const char *name;
	size_t cert;
};

static int
domain_ref_cmp(const void *a, const void *b)
{
	const struct domain_ref *x = a;
	const struct domain_ref *y = b;
	int ret;

	ret = strcmp(x->name, y->name);
	if (ret == 0) {
		ret = x->cert < y->cert ? -1 : x->cert > y->cert;
	}
	return ret;
}

static int
cert_name_cmp(const void *a, const void *b)
{
	const struct conf_cert *const *x = a;
	const struct conf_cert *const *y = b;
	int ret;

	ret = strcmp((*x)->name, (*y)->name);
	if (ret == 0) {
		ret = (*x)->line < (*y)->line ? -1 : (*x)->line > (*y)->line;
	}
	return ret;
}

/* Drops every section whose name an earlier one already has. Sorting keeps
 * this fast with tens of thousands of sections. */
static void
drop_duplicate_sections(struct loader *ld)
{
	struct conf *conf = ld->conf;
	const struct conf_cert **sorted = NULL;
	bool *drop = NULL;
	size_t i;
	size_t kept;

	if (conf->n_certs < 2) {
		goto out;
	}
	sorted = calloc(conf->n_certs, sizeof(*sorted));
	drop = calloc(conf->n_certs, sizeof(*drop));
	if (sorted == NULL || drop == NULL) {
		ld->oom = true;
		goto out;
	}
	for (i = 0; i < conf->n_certs; i++) {
		sorted[i] = &conf->certs[i];
	}
	qsort(sorted, conf->n_certs, sizeof(*sorted), cert_name_cmp);
	for (i = 1; i < conf->n_certs; i++) {
		if (strcmp(sorted[i]->name, sorted[i - 1]->name) != 0) {
			continue;
		}
		add_error(ld, sorted[i]->line, "duplicate section [cert %s] (first on line %d)",
		          sorted[i]->name, sorted[i - 1]->line);
		drop[sorted[i] - conf->certs] = true;
		/* Keep comparing against the first of the run. */
		sorted[i] = sorted[i - 1];
	}
	kept = 0;
	for (i = 0; i < conf->n_certs; i++) {
		if (drop[i]) {
			free(conf->certs[i].name);
			conf_settings_finish(&conf->certs[i].settings);
			continue;
		}
		conf->certs[kept] = conf->certs[i];
		ld->cert_lines[kept] = ld->cert_lines[i];
		kept++;
	}
	conf->n_certs = kept;
out:
	free(sorted);
	free(drop);
}

static void
check_shared_domains(struct loader *ld)
{
	struct conf *conf = ld->conf;
	struct domain_ref *refs = NULL;
	size_t n = 0;
	size_t first = 0;
	size_t i;
	size_t j;

	for (i = 0; i < conf->n_certs; i++) {
		n += conf->certs[i].settings.n_domains;
	}
	if (n < 2) {
		goto out;
	}
	refs = calloc(n, sizeof(*refs));
	if (refs == NULL) {
		ld->oom = true;
		goto out;
	}
	n = 0;
	for (i = 0; i < conf->n_certs; i++) {
		for (j = 0; j < conf->certs[i].settings.n_domains; j++) {
			refs[n].name = conf->certs[i].settings.domains[j];
			refs[n].cert = i;
			n++;
		}
	}
	qsort(refs, n, sizeof(*refs), domain_ref_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(refs[i].name, refs[first].name) != 0) {
			first = i;
			continue;
		}
		add_error(ld, ld->cert_lines[refs[i].cert].line[CONF_KEY_DOMAINS],
		          "domain '%s' is already in [cert %s] on line %d", refs[i].name,
		          conf->certs[refs[first].cert].name,
		          ld->cert_lines[refs[first].cert].line[CONF_KEY_DOMAINS]);
	}
out:
	free(refs);
}

static void
on_verify_error(void *arg, int line, const char *msg)
{
	add_error(arg, line, "%s", msg);
}

static void
validate(struct loader *ld)
{
	struct conf_verify v;

	drop_duplicate_sections(ld);
	check_shared_domains(ld);
	v = (struct conf_verify){
	        .conf = ld->conf,
	        .global = &ld->global_lines,
	        .certs = ld->cert_lines,
	        .cas = ld->ca_lines,
	        .error = on_verify_error,
	        .arg = ld,
	};
	conf_verify(&v);
}

static int
load_error_cmp(const void *a, const void *b)
{
	const struct load_error *x = a;
	const struct load_error *y = b;
	int ret;

	ret = (x->line > y->line) - (x->line < y->line);
	if (ret == 0) {
		ret = (x->seq > y->seq) - (x->seq < y->seq);
	}
	return ret;
}

/* Moves the errors, in line order, to conf->errors. */
static void
publish_errors(struct loader *ld)
{
	struct conf *conf = ld->conf;
	char **all;
	size_t i;

	if (ld->n_errors == 0) {
		goto out;
	}
	qsort(ld->errors, ld->n_errors, sizeof(*ld->errors), load_error_cmp);
	all = realloc(conf->errors, (conf->n_errors + ld->n_errors) * sizeof(*all));
	if (all == NULL) {
		ld->oom = true;
		goto out;
	}
	conf->errors = all;
	for (i = 0; i < ld->n_errors; i++) {
		conf->errors[conf->n_errors++] = ld->errors[i].msg;
		ld->errors[i].msg = NULL;
	}
out:
	return;
}

int
conf_load(struct conf *conf, const char *path)
{
	struct loader ld;
	char *buf = NULL;
	size_t len = 0;
	size_t i;
	int ret = -1;

	memset(&ld, 0, sizeof(ld));
	ld.conf = conf;
	ld.scope = SCOPE_GLOBAL;
	free(conf->path);
	conf->path = strdup(path);
	if (conf->path == NULL) {
		goto out;
	}
	buf = file_read(path, CONF_FILE_MAX, &len);
	if (buf == NULL) {
		add_error(&ld, 0, "%s", strerror(errno));
	} else {
		parse_text_buffer(&ld, buf, len);
		validate(&ld);
	}
	if (ld.oom) {
		add_error(&ld, 0, "out of memory");
	}
	publish_errors(&ld);
	if (!ld.oom && ld.n_errors == 0) {
		ret = 0;
	}
out:
	for (i = 0; i < ld.n_errors; i++) {
		free(ld.errors[i].msg);
	}
	free(ld.errors);
	free(ld.cert_lines);
	free(ld.ca_lines);
	conf_settings_finish(&ld.discard);
	free(buf);
	return ret;
}
