/* The values of the keys that say which files a set has and who may read
 * them: output, key-owner/cert-owner, key-group/cert-group,
 * key-mode/cert-mode. */
#include "conf/conf_internal.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Room for one passwd or group entry (getpwnam_r, getgrnam_r). */
#define ENTRY_BUF 16384
/* The longest user or group name looked up. */
#define ID_NAME_MAX 64

struct output_name {
	const char *name;
	long bit;
};

/* Sorted. */
static const struct output_name outputs[] = {
        {"combined", CONF_OUTPUT_COMBINED},
        {"pem", CONF_OUTPUT_PEM},
        {"pkcs12", CONF_OUTPUT_PKCS12},
};

int
conf_value_parse_output(struct conf_settings *s, const struct conf_key_spec *spec,
                        const char *value, char *err, size_t errlen)
{
	static const char separators[] = ", \t";
	long bits = CONF_OUTPUT_PEM;
	const char *p = value;
	int ret = -1;

	while (*p != '\0') {
		size_t len;
		size_t i;

		p += strspn(p, separators);
		len = strcspn(p, separators);
		if (len == 0) {
			continue;
		}
		for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
			if (strlen(outputs[i].name) == len &&
			    strncmp(outputs[i].name, p, len) == 0) {
				bits |= outputs[i].bit;
				break;
			}
		}
		if (i == sizeof(outputs) / sizeof(outputs[0])) {
			conf_value_fail(
			        err, errlen,
			        "%s: invalid value '%.*s': expected pem, combined or pkcs12",
			        spec->name, (int)len, p);
			goto out;
		}
		p += len;
	}
	*(long *)conf_value_field(s, spec->off) = bits;
	ret = 0;
out:
	return ret;
}

/* value as a number of at most 2^31 - 1: 0 with it in *id, else -1. */
static int
numeric_id(const char *value, long *id)
{
	char *end;
	long v;

	if (*value < '0' || *value > '9') {
		return -1;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || *end != '\0' || v > 2147483647L) {
		return -1;
	}
	*id = v;
	return 0;
}

/* The user (group false) or group named value: 0 with its id, -1 with the
 * message in err. */
static int
lookup_id(const struct conf_key_spec *spec, const char *value, bool group, long *id, char *err,
          size_t errlen)
{
	char *buf = NULL;
	struct passwd pw;
	struct passwd *pwp = NULL;
	struct group gr;
	struct group *grp = NULL;
	int rc;
	int ret = -1;

	if (numeric_id(value, id) == 0) {
		ret = 0;
		goto out;
	}
	if (strlen(value) > ID_NAME_MAX || strpbrk(value, " \t:/") != NULL) {
		conf_value_fail(err, errlen, "%s: invalid value '%s': expected a %s name or number",
		                spec->name, value, group ? "group" : "user");
		goto out;
	}
	buf = malloc(ENTRY_BUF);
	if (buf == NULL) {
		conf_value_fail(err, errlen, "%s: out of memory", spec->name);
		goto out;
	}
	if (group) {
		rc = getgrnam_r(value, &gr, buf, ENTRY_BUF, &grp);
		if (grp != NULL) {
			*id = (long)grp->gr_gid;
		}
	} else {
		rc = getpwnam_r(value, &pw, buf, ENTRY_BUF, &pwp);
		if (pwp != NULL) {
			*id = (long)pwp->pw_uid;
		}
	}
	if (grp == NULL && pwp == NULL) {
		/* getpwnam_r(3): "not found" is 0 or one of several errors,
		 * depending on the system. */
		bool failed = rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM;

		conf_value_fail(err, errlen, "%s: no %s named '%s' on this system%s%s", spec->name,
		                group ? "group" : "user", value, failed ? ": " : "",
		                failed ? strerror(rc) : "");
		goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

int
conf_value_parse_owner(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                       char *err, size_t errlen)
{
	return lookup_id(spec, value, false, (long *)conf_value_field(s, spec->off), err, errlen);
}

int
conf_value_parse_group(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                       char *err, size_t errlen)
{
	return lookup_id(spec, value, true, (long *)conf_value_field(s, spec->off), err, errlen);
}

int
conf_value_parse_mode(struct conf_settings *s, const struct conf_key_spec *spec, const char *value,
                      char *err, size_t errlen)
{
	bool key = strncmp(spec->name, "key-", 4) == 0;
	size_t len = strlen(value);
	long mode = 0;
	int ret = -1;

	if (len < 3 || len > 4 || strspn(value, "01234567") != len ||
	    (len == 4 && value[0] != '0')) {
		conf_value_fail(err, errlen,
		                "%s: invalid value '%s': expected an octal mode such as %s",
		                spec->name, value, key ? "0600 or 0640" : "0644");
		goto out;
	}
	mode = strtol(value, NULL, 8);
	/* The owner reads the set back (the renewal policy checks it), and
	 * writes it again at the next renewal. */
	if ((mode & S_IRUSR) == 0) {
		conf_value_fail(err, errlen,
		                "%s: invalid value '%s': the owner must be able to read",
		                spec->name, value);
		goto out;
	}
	if (key && (mode & S_IRWXO) != 0) {
		conf_value_fail(err, errlen,
		                "%s: invalid value '%s': every user could get at the key; give "
		                "other no bits (0640 with key-group lets a server's group read it)",
		                spec->name, value);
		goto out;
	}
	if (!key && (mode & S_IWOTH) != 0) {
		conf_value_fail(err, errlen,
		                "%s: invalid value '%s': every user could change the certificate",
		                spec->name, value);
		goto out;
	}
	*(long *)conf_value_field(s, spec->off) = mode;
	ret = 0;
out:
	return ret;
}
