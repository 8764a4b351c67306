/* Well-known ACME CAs by short name. */
#ifndef ACMED_CA_H
#define ACMED_CA_H

/* The CA when none is configured. */
#define CA_DEFAULT_NAME "letsencrypt"

/* The directory URL for a short name ("letsencrypt", ...) or, when name is
 * already an https URL, name itself. Borrowed; NULL when neither. */
const char *ca_directory_url(const char *name);

/* The staging (test) directory URL of a short name, or of the directory
 * URL a short name stands for: "letsencrypt" gives letsencrypt-staging's,
 * a staging one its own. Borrowed; NULL for a CA without one (zerossl),
 * any other URL (its staging is the config key staging) or NULL. */
const char *ca_staging_url(const char *name);

/* For messages: the short names, comma separated. */
const char *ca_short_names(void);

#endif
