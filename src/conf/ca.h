/* Well-known ACME CAs by short name. */
#ifndef ACMED_CA_H
#define ACMED_CA_H

/* The directory URL for a short name ("letsencrypt", ...) or, when name is
 * already an https URL, name itself. Borrowed; NULL when neither. */
const char *ca_directory_url(const char *name);

/* The staging (test) directory URL of a short name, or of the directory
 * URL a short name stands for: "letsencrypt" gives letsencrypt-staging's,
 * a staging one its own. Borrowed; NULL for a CA without one (zerossl),
 * any other URL (its staging is the config key staging) or NULL. */
const char *ca_staging_url(const char *name);

/* The CA when none is configured. */
#define CA_DEFAULT "letsencrypt"

/* The directory URL of a resolved setting ca (conf_settings.ca), the
 * default's when NULL; NULL when it names no CA. */
const char *ca_settings_url(const char *ca);

/* For messages: the short names, comma separated. */
const char *ca_short_names(void);

#endif
